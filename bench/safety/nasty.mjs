/**
 * Nasty files: hostile CSVs made here (binary junk, huge fields, a million columns, deep quotes,
 * BOM mixes, NULs, prototype-named labels, 10,000 classes, unclosed quotes, empty, header only,
 * CRLF mixes...) sent through inspectDataset and then prepareDataset (with the mapping inspect
 * suggested) of a running web host, as the page sends them. Each outcome is a success, a clear
 * error (a code other than 'internal', a message without a stack trace), an internal error, or a
 * hang (no answer in --hang seconds: the task is then cancelled).
 */
import fs from 'node:fs';
import path from 'node:path';
import { rng } from './kills.mjs';
import { api, hasStackTrace } from './common.mjs';

const rows = (n, f) => Array.from({ length: n }, (_, i) => f(i)).join('\n') + '\n';
const words = ['alpha', 'beta', 'gamma', 'delta', 'omega', 'news', 'sport', 'market', 'chip', 'goal'];
const text = (i) => `${words[i % 10]} ${words[(i * 7) % 10]} ${words[(i * 3 + 1) % 10]} item ${i}`;

/** [name, contents (string | Buffer | () => string | Buffer)] pairs; names end in .csv unless the point is otherwise. */
export function nastyFiles(dir, scale = 1) {
  const r = rng(7);
  const big = (n) => Math.max(1, Math.round(n * scale));
  const files = {
    'empty.csv': '',
    'only-header.csv': 'text,label\n',
    'only-newlines.csv': '\n\n\n\n\n',
    'only-bom.csv': '\uFEFF',
    'binary-junk.csv': () => Buffer.from(Array.from({ length: 65536 }, () => Math.floor(r() * 256))),
    'png-bytes.csv': () => Buffer.concat([Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]), Buffer.from(Array.from({ length: 4096 }, () => Math.floor(r() * 256)))]),
    'gzip-bytes.csv': () => Buffer.concat([Buffer.from([0x1f, 0x8b, 0x08, 0x00]), Buffer.from(Array.from({ length: 4096 }, () => Math.floor(r() * 256)))]),
    'all-nul.csv': () => Buffer.alloc(big(1 << 20)),
    'nul-in-fields.csv': 'text,label\n' + rows(200, (i) => `${text(i)}\u0000x,${i % 3 ? 'a' : 'b'}\u0000`),
    'utf16le-bom.csv': () => Buffer.concat([Buffer.from([0xff, 0xfe]), Buffer.from('text,label\n' + rows(100, (i) => `${text(i)},${i % 2 ? 'pos' : 'neg'}`), 'utf16le')]),
    'utf16be-bom.csv': () => {
      const le = Buffer.from('text,label\n' + rows(100, (i) => `${text(i)},${i % 2 ? 'pos' : 'neg'}`), 'utf16le');
      for (let i = 0; i + 1 < le.length; i += 2) [le[i], le[i + 1]] = [le[i + 1], le[i]];
      return Buffer.concat([Buffer.from([0xfe, 0xff]), le]);
    },
    'utf16-without-bom.csv': () => Buffer.from('text,label\n' + rows(100, (i) => `${text(i)},${i % 2 ? 'pos' : 'neg'}`), 'utf16le'),
    'bom-mix.csv': '\uFEFFtext,label\n' + rows(100, (i) => `${i % 5 === 0 ? '\uFEFF' : ''}${text(i)},${i % 2 ? '\uFEFFpos' : 'neg'}`),
    'double-bom.csv': '\uFEFF\uFEFFtext,label\n' + rows(60, (i) => `${text(i)},${i % 2}`),
    'huge-field.csv': () => 'text,label\n"' + 'x'.repeat(big(20 << 20)) + '",a\n' + rows(50, (i) => `${text(i)},${i % 2 ? 'a' : 'b'}`),
    'huge-line-no-newline.csv': () => 'y'.repeat(big(30 << 20)),
    'million-columns.csv': () => rows(3, (l) => Array.from({ length: big(1_000_000) }, (_, c) => (l === 0 ? `c${c}` : String(c % 10))).join(',')),
    '100k-columns.csv': () => rows(20, (l) => Array.from({ length: big(100_000) }, (_, c) => (l === 0 ? `c${c}` : `${words[c % 10]}`)).join(',')),
    'line-of-commas.csv': () => 'text,label\n' + ','.repeat(big(10 << 20)) + '\n' + rows(20, (i) => `${text(i)},a`),
    'deep-quotes.csv': () => '"'.repeat(big(1 << 20)) + '\n',
    'quote-storm.csv': () => 'text,label\n' + rows(500, (i) => `"${'""'.repeat(200)}${text(i)}${'""'.repeat(200)}",${i % 2 ? 'a' : 'b'}`),
    'unclosed-quote-start.csv': 'text,label\n"' + rows(300, (i) => `${text(i)},${i % 2 ? 'a' : 'b'}`),
    'unclosed-quote-end.csv': 'text,label\n' + rows(300, (i) => `${text(i)},${i % 2 ? 'a' : 'b'}`) + '"never closed,a\n',
    'quote-in-unquoted.csv': 'text,label\n' + rows(200, (i) => `he said "${text(i)}" twice",${i % 2 ? 'a' : 'b'}`),
    'quoted-newlines-everywhere.csv': 'text,label\n' + rows(300, (i) => `"${text(i)}\nline two\r\nline three",${i % 2 ? 'a' : 'b'}`),
    'crlf-mix.csv': 'text,label\r\n' + Array.from({ length: 300 }, (_, i) => `${text(i)},${i % 3}`).join(['\r\n', '\n', '\r'][0]).split('\n').map((l, i) => l + ['\n', '\r\n', '\r'][i % 3]).join(''),
    'cr-only.csv': 'text,label\r' + Array.from({ length: 200 }, (_, i) => `${text(i)},${i % 2 ? 'a' : 'b'}`).join('\r') + '\r',
    'line-separators.csv': 'text,label\n' + rows(200, (i) => `${text(i)}\u2028more\u2029end,${i % 2 ? 'a' : 'b'}`),
    'prototype-labels.csv': 'text,label\n' + rows(500, (i) => `${text(i)},${['__proto__', 'constructor', 'toString', 'hasOwnProperty', 'valueOf', 'prototype', '__defineGetter__'][i % 7]}`),
    'prototype-headers.csv': '__proto__,constructor\n' + rows(300, (i) => `${text(i)},${i % 2 ? 'toString' : 'valueOf'}`),
    'formula-injection.csv': 'text,label\n' + rows(200, (i) => `"=HYPERLINK(""http://evil.example/?${i}"")",${['=1+1', '+cmd|\'/C calc\'!A0', '-2+3', '@SUM(A1)'][i % 4]}`),
    '10000-classes.csv': () => 'text,label\n' + rows(big(30_000), (i) => `${text(i)} w${Math.floor(i / 3)},class_${Math.floor(i / 3)}`),
    '100000-classes.csv': () => 'text,label\n' + rows(big(100_000), (i) => `${text(i)},c${i}`),
    'every-row-own-class.csv': 'text,label\n' + rows(5000, (i) => `${text(i)},label_${i}`),
    'one-class.csv': 'text,label\n' + rows(300, (i) => `${text(i)},only`),
    'one-row.csv': 'text,label\nhello world,a\n',
    'two-rows.csv': 'text,label\nhello world,a\ngoodbye world,b\n',
    'numeric-labels-odd.csv': 'text,label\n' + rows(300, (i) => `${text(i)},${['1e308', 'NaN', 'Infinity', '-0', '0x10', '1.0', '01'][i % 7]}`),
    'empty-labels.csv': 'text,label\n' + rows(300, (i) => `${text(i)},${i % 3 === 0 ? '' : i % 2 ? 'a' : 'b'}`),
    'empty-texts.csv': 'text,label\n' + rows(300, (i) => `${i % 2 ? '' : text(i)},${i % 2 ? 'a' : 'b'}`),
    'whitespace-texts.csv': 'text,label\n' + rows(300, (i) => `${'   \t  '},${i % 2 ? 'a' : 'b'}`),
    'json-in-labels.csv': 'text,label\n' + rows(300, (i) => `${text(i)},"{""a"":[${i % 3}]}"`),
    'unicode-labels.csv': 'text,label\n' + rows(300, (i) => `${text(i)},${['😀', '\u202Eevil', 'zero\u200Bwidth', 'مرحبا', 'Ω≈ç√', '\uD83D'][i % 6]}`),
    'invalid-utf8.csv': () => Buffer.concat([Buffer.from('text,label\n'), ...Array.from({ length: 300 }, (_, i) => Buffer.concat([Buffer.from(text(i)), Buffer.from([0xc3, 0x28, 0xa0, 0xa1, 0xff, 0xfe]), Buffer.from(`,${i % 2 ? 'a' : 'b'}\n`)]))]),
    'overlong-utf8.csv': () => Buffer.concat([Buffer.from('text,label\n'), ...Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.from([0xc0, 0xaf, 0xe0, 0x80, 0xaf]), Buffer.from(` ${text(i)},${i % 2 ? 'a' : 'b'}\n`)]))]),
    'latin1-mix.csv': () => Buffer.concat([Buffer.from('text,label\n'), ...Array.from({ length: 300 }, (_, i) => Buffer.from(`café ${text(i)} naïve,${i % 2 ? 'oui' : 'non'}\n`, i % 2 ? 'latin1' : 'utf8'))]),
    'cp1252-quotes.csv': () => Buffer.concat([Buffer.from('text,label\n'), ...Array.from({ length: 200 }, (_, i) => Buffer.concat([Buffer.from([0x93]), Buffer.from(text(i)), Buffer.from([0x94, 0x96]), Buffer.from(`,${i % 2 ? 'a' : 'b'}\n`)]))]),
    'long-label.csv': 'text,label\n' + rows(100, (i) => `${text(i)},${i % 2 ? 'L'.repeat(100_000) : 'short'}`),
    'duplicate-headers.csv': 'text,text,label,label\n' + rows(300, (i) => `${text(i)},${text(i + 1)},${i % 2 ? 'a' : 'b'},${i % 3}`),
    'empty-headers.csv': ',,\n' + rows(300, (i) => `${text(i)},,${i % 2 ? 'a' : 'b'}`),
    'ragged-rows.csv': 'text,label\n' + rows(400, (i) => [text(i), i % 2 ? 'a' : 'b', ...Array(i % 5).fill('extra')].slice(0, 1 + (i % 4)).join(',')),
    'one-column.csv': 'text\n' + rows(300, (i) => text(i)),
    'trailing-delimiters.csv': 'text,label,\n' + rows(300, (i) => `${text(i)},${i % 2 ? 'a' : 'b'},,,`),
    'duplicates-50k.csv': () => 'text,label\n' + rows(big(50_000), (i) => `same text,${i % 2 ? 'a' : 'b'}`),
    'conflicting-labels.csv': 'text,label\n' + rows(1000, (i) => `${text(i % 20)},${i % 2 ? 'a' : 'b'}`),
    'jsonl-named-csv.csv': rows(300, (i) => JSON.stringify({ text: text(i), label: i % 2 ? 'a' : 'b' })),
    'broken-jsonl.jsonl': rows(300, (i) => (i % 7 === 0 ? '{"text": "cut' : JSON.stringify({ text: text(i), label: i % 2 ? 'a' : 'b', __proto__: { polluted: true } }))),
    'jsonl-proto-keys.jsonl': rows(300, (i) => `{"__proto__": {"x": 1}, "constructor": "c", "text": "${text(i)}", "label": "${['__proto__', 'constructor', 'toString'][i % 3]}"}`),
    'tsv-named-csv.csv': 'text\tlabel\n' + rows(300, (i) => `${text(i)}\t${i % 2 ? 'a' : 'b'}`),
    'semicolons.csv': 'text;label\n' + rows(300, (i) => `${text(i)};${i % 2 ? 'a' : 'b'}`),
    'sep-hint.csv': 'sep=;\ntext;label\n' + rows(300, (i) => `${text(i)};${i % 2 ? 'a' : 'b'}`),
    'delimiter-mix.csv': 'text,label\n' + rows(300, (i) => `${text(i)}${[',', ';', '\t', '|'][i % 4]}${i % 2 ? 'a' : 'b'}`),
    'html.csv': '<!doctype html><html><body><table><tr><td>text</td><td>label</td></tr></table><script>alert(1)</script></body></html>\n',
    'numbers-only.csv': rows(500, (i) => `${i},${i % 3},${i * 2.5}`),
    'million-tiny-rows.csv': () => 'text,label\n' + rows(big(1_000_000), (i) => `w${i % 1000},${i % 2}`),
    'huge-texts.csv': () => 'text,label\n' + rows(10, (i) => `"${text(i).repeat(big(40_000))}",${i % 2 ? 'a' : 'b'}`),
    'no-extension': 'text,label\n' + rows(100, (i) => `${text(i)},${i % 2 ? 'a' : 'b'}`),
    'spaces in name & quotes\'".csv': 'text,label\n' + rows(100, (i) => `${text(i)},${i % 2 ? 'a' : 'b'}`),
  };
  fs.mkdirSync(dir, { recursive: true });
  const out = [];
  for (const [name, content] of Object.entries(files)) {
    const file = path.join(dir, name);
    fs.writeFileSync(file, typeof content === 'function' ? content() : content);
    out.push(file);
  }
  // Not files: a folder named like a CSV, a link to nowhere, a link loop, a device.
  fs.mkdirSync(path.join(dir, 'folder.csv'), { recursive: true });
  out.push(path.join(dir, 'folder.csv'));
  fs.symlinkSync(path.join(dir, 'missing-target.csv'), path.join(dir, 'dangling-link.csv'));
  out.push(path.join(dir, 'dangling-link.csv'));
  fs.symlinkSync(path.join(dir, 'loop-b.csv'), path.join(dir, 'loop-a.csv'));
  fs.symlinkSync(path.join(dir, 'loop-a.csv'), path.join(dir, 'loop-b.csv'));
  out.push(path.join(dir, 'loop-a.csv'));
  out.push('/dev/null');
  out.push(path.join(dir, 'does-not-exist.csv'));
  return out;
}

export async function nastyCampaign(server, o) {
  const log = o.log ?? console.log;
  const dir = path.join(o.home, 'nasty');
  const files = nastyFiles(dir, o.scale ?? 1).concat(o.extraPaths ?? []);
  const hangMs = (o.hangSeconds ?? 120) * 1000;
  const outcomes = [];
  let task = 0;
  /** A call that may be cancelled: after hangMs the task is cancelled and its answer awaited a little longer. */
  const call = async (method, args) => {
    const taskId = `nasty-${++task}`;
    const started = performance.now();
    // A fresh connection each call: making the big files blocks this process, so a kept-alive
    // socket the host closed meanwhile would be reused before its close is seen.
    const pending = api(server, method, [...args, taskId], { timeoutMs: hangMs + 30_000, keepAlive: false });
    const timer = new Promise((r) => setTimeout(() => r('hang'), hangMs));
    const first = await Promise.race([pending, timer]);
    if (first !== 'hang') return { ...first, seconds: (performance.now() - started) / 1000 };
    await api(server, 'cancelTask', [taskId], { keepAlive: false });
    const after = await pending;
    return { hang: true, cancelledAnswer: after.ok === false ? after.error?.code : after.transport ? 'no answer' : 'ok', seconds: (performance.now() - started) / 1000 };
  };
  const judge = (res) => {
    if (res.hang) return 'hang';
    if (res.transport) return res.transport.timedOut ? 'hang' : 'transport';
    if (res.ok) return 'ok';
    if (res.error?.code === 'internal') return 'internal';
    if (hasStackTrace(res.error?.message ?? '') || (res.error?.message ?? '').length < 10) return 'unclear';
    return 'clear';
  };
  for (const file of files) {
    const name = path.basename(file);
    const inspect = await call('inspectDataset', [file, undefined]);
    const outcome = { file: name, afterCancel: inspect.hang ? inspect.cancelledAnswer : undefined, inspect: judge(inspect), inspectCode: inspect.error?.code ?? null, inspectSeconds: +inspect.seconds.toFixed(2), prepare: null, prepareCode: null, prepareSeconds: null, message: inspect.error?.message?.slice(0, 160) ?? null };
    if (inspect.ok && inspect.value?.suggestedMapping) {
      const prepare = await call('prepareDataset', [{ file, mapping: inspect.value.suggestedMapping, split: { kind: 'ratio', evalRatio: 0.2, seed: 1 } }]);
      outcome.prepare = judge(prepare);
      outcome.prepareCode = prepare.error?.code ?? null;
      outcome.prepareSeconds = +prepare.seconds.toFixed(2);
      if (prepare.hang) outcome.afterCancel = prepare.cancelledAnswer;
      outcome.message = prepare.error?.message?.slice(0, 160) ?? (prepare.ok ? `prepared: ${prepare.value.trainCount}+${prepare.value.evalCount} rows, ${prepare.value.labels.length} classes, baseline ${prepare.value.baseline ? 'computed' : 'not computed'}` : null);
      if (prepare.ok) outcome.warnings = prepare.value.warnings.length;
    } else if (inspect.ok) {
      outcome.message = 'inspected; no mapping suggested (nothing to prepare)';
    }
    outcomes.push(outcome);
    log(`  ${name.padEnd(32)} inspect ${outcome.inspect}${outcome.inspectCode ? ` (${outcome.inspectCode})` : ''} ${outcome.inspectSeconds} s` + (outcome.prepare ? `, prepare ${outcome.prepare}${outcome.prepareCode ? ` (${outcome.prepareCode})` : ''} ${outcome.prepareSeconds} s` : '') + (outcome.afterCancel ? ` (cancelled: answered ${outcome.afterCancel})` : '') + (outcome.message ? `: ${outcome.message}` : ''));
  }
  const calls = outcomes.flatMap((x) => [x.inspect, x.prepare].filter(Boolean));
  const count = (k) => calls.filter((c) => c === k).length;
  // A file's end: prepared, refused clearly (at inspect or prepare), or a problem.
  const ends = outcomes.map((x) => x.prepare ?? x.inspect);
  const result = {
    files: outcomes.length,
    calls: calls.length,
    internal: count('internal'),
    clear: count('clear'),
    unclear: count('unclear'),
    ok: count('ok'),
    hangs: count('hang'),
    hangsCancelled: outcomes.filter((x) => x.afterCancel === 'cancelled').length,
    transport: count('transport'),
    prepared: outcomes.filter((x) => x.prepare === 'ok').length,
    refusedClearly: ends.filter((e) => e === 'clear').length,
    inspectedOnly: outcomes.filter((x) => x.inspect === 'ok' && !x.prepare).length,
    slowest: outcomes.map((x) => ({ file: x.file, seconds: (x.inspectSeconds ?? 0) + (x.prepareSeconds ?? 0) })).sort((a, b) => b.seconds - a.seconds).slice(0, 5),
    outcomes,
  };
  log(`  ${result.files} files, ${result.calls} calls: ${result.ok} ok, ${result.clear} clear errors, ${result.internal} internal, ${result.unclear} unclear, ${result.hangs} hangs; ${result.prepared} prepared`);
  return result;
}
