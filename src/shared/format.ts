/**
 * Formatting for people, one module for main, the CLI and the renderer: dates, durations,
 * percentages, bytes, counts. Pure TS (no node:, no DOM), so every host shows the same file as
 * the same size and the same run as the same duration.
 */

export function formatDate(ms: number | null): string {
  if (ms === null) return '—';
  const d = new Date(ms);
  return d.toLocaleString(undefined, { year: 'numeric', month: 'short', day: 'numeric', hour: '2-digit', minute: '2-digit' });
}

export function formatDuration(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.round(seconds);
  if (s < 60) return `${s}s`;
  const m = Math.floor(s / 60);
  if (m < 60) return `${m}m ${String(s % 60).padStart(2, '0')}s`;
  const h = Math.floor(m / 60);
  return `${h}h ${String(m % 60).padStart(2, '0')}m`;
}

export function runDuration(startedAt: number | null, finishedAt: number | null, now = Date.now()): number | null {
  if (startedAt === null) return null;
  return ((finishedAt ?? now) - startedAt) / 1000;
}

export function formatPercent(x: number | null, digits = 1): string {
  if (x === null || !Number.isFinite(x)) return '—';
  return `${(x * 100).toFixed(digits)} %`;
}

/** Sizes in SI units (1 MB = 1,000,000 bytes), as file managers on macOS and in GNOME show them. */
export function formatBytes(n: number | null): string {
  if (n === null || !Number.isFinite(n)) return '—';
  const units = ['B', 'KB', 'MB', 'GB', 'TB'];
  let v = n;
  let i = 0;
  while (v >= 1000 && i < units.length - 1) {
    v /= 1000;
    i++;
  }
  return `${v.toFixed(v < 10 && i > 0 ? 1 : 0)} ${units[i]}`;
}

/** Whole numbers with thousands separators: 12,345. */
export function formatCount(n: number | null | undefined): string {
  if (n === null || n === undefined || !Number.isFinite(n)) return '—';
  return Math.round(n).toLocaleString('en-US');
}

/** A metric in 0..1 as a percentage, or a loss as a plain number. */
export function formatMetric(name: string | null, value: number | null): string {
  if (value === null || !Number.isFinite(value)) return '—';
  return name === 'eval_loss' ? value.toFixed(4) : formatPercent(value);
}

/** Probability as "93.1 %"; tiny ones as "< 0.1 %". */
export function formatProbability(p: number): string {
  if (!Number.isFinite(p)) return '—';
  if (p > 0 && p < 0.001) return '< 0.1 %';
  return `${(p * 100).toFixed(1)} %`;
}

/** A signed difference in percentage points: "+1.2 pt", "−0.4 pt", "±0.0 pt". */
export function formatDelta(d: number | null, digits = 1): string {
  if (d === null || !Number.isFinite(d)) return '—';
  const v = d * 100;
  const r = Number(v.toFixed(digits));
  if (r === 0) return `±${(0).toFixed(digits)} pt`;
  return `${r > 0 ? '+' : '−'}${Math.abs(r).toFixed(digits)} pt`;
}

/** Loss values: 4 significant digits. */
export function formatLoss(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return x.toPrecision(4);
}

/** Learning rates as people write them: 2e-5, 0.001. */
export function formatRate(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  if (x === 0) return '0';
  if (Math.abs(x) < 1e-3) {
    const [m, e] = x.toExponential(2).split('e');
    return `${Number(m)}e${Number(e)}`;
  }
  return String(Number(x.toPrecision(3)));
}

/** Throughput: "12.3 samples/s". */
export function formatSpeed(x: number | null | undefined): string {
  if (x === null || x === undefined || !Number.isFinite(x)) return '—';
  return `${x >= 100 ? Math.round(x) : x.toFixed(1)} samples/s`;
}

/** Parameters: 110M, 4.4M. */
export function formatParams(n: number): string {
  if (n >= 1e9) return `${(n / 1e9).toFixed(1)}B`;
  if (n >= 1e6) return `${n >= 1e8 ? Math.round(n / 1e6) : (n / 1e6).toFixed(1)}M`;
  if (n >= 1e3) return `${Math.round(n / 1e3)}K`;
  return String(n);
}

/** Short fingerprint for people: the first 10 hex characters. */
export function shortHash(h: string | null | undefined): string {
  return h ? h.slice(0, 10) : '—';
}

/** Time as h:mm:ss or m:ss for the elapsed clocks. */
export function formatClock(seconds: number | null): string {
  if (seconds === null || !Number.isFinite(seconds) || seconds < 0) return '—';
  const s = Math.floor(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const ss = String(s % 60).padStart(2, '0');
  return h > 0 ? `${h}:${String(m).padStart(2, '0')}:${ss}` : `${m}:${ss}`;
}

/** "1 row", "2,345 rows". */
export function plural(n: number, word: string, pluralWord = `${word}s`): string {
  return `${n.toLocaleString('en-US')} ${n === 1 ? word : pluralWord}`;
}

/** An estimate of time left: the same words as formatDuration, '?' when unknown. */
export function formatEta(seconds: number | null): string {
  return seconds === null || !Number.isFinite(seconds) ? '?' : formatDuration(Math.max(0, seconds));
}
