/**
 * DESIGN.md's rules, held by a test instead of by memory: the rooms of src/ and who may import
 * whom, no import cycles, Electron only where it belongs, and one reader of the environment.
 *
 * Imports are read from the source text (static `import ... from`, `export ... from`, and
 * `import('...')`). Type-only imports (`import type`) are left out of the cycle check: they vanish
 * at build time and cannot make a load-order cycle; they still count for the room rules.
 */
import fs from 'node:fs';
import path from 'node:path';
import { describe, expect, it } from 'vitest';

const ROOT = path.resolve(__dirname, '..');
const SRC = path.join(ROOT, 'src');

interface Edge {
  from: string;
  to: string;
  typeOnly: boolean;
}

function sourceFiles(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sourceFiles(p));
    else if (/\.(ts|svelte)$/.test(e.name) && !e.name.endsWith('.d.ts')) out.push(p);
  }
  return out;
}

const IMPORT_RE = /^\s*(import|export)\s+(type\s+)?[^'";]*?from\s+['"]([^'"]+)['"]|^\s*import\s+['"]([^'"]+)['"]|import\(\s*['"]([^'"]+)['"]\s*\)/gm;

function resolveLocal(from: string, spec: string): string | null {
  const base = path.resolve(path.dirname(from), spec);
  for (const candidate of [base, `${base}.ts`, `${base}.svelte`, path.join(base, 'index.ts'), base.replace(/\.js$/, '.ts')]) {
    if (fs.existsSync(candidate) && fs.statSync(candidate).isFile()) return candidate;
  }
  return null;
}

function parse(files: string[]): { edges: Edge[]; packages: Map<string, string[]> } {
  const edges: Edge[] = [];
  const packages = new Map<string, string[]>();
  for (const file of files) {
    const text = fs.readFileSync(file, 'utf8');
    const pkgs: string[] = [];
    for (const m of text.matchAll(IMPORT_RE)) {
      const spec = m[3] ?? m[4] ?? m[5]!;
      const typeOnly = Boolean(m[2]);
      if (spec.startsWith('.')) {
        const to = resolveLocal(file, spec);
        if (to) edges.push({ from: file, to, typeOnly });
      } else pkgs.push(spec);
    }
    packages.set(file, pkgs);
  }
  return { edges, packages };
}

const files = sourceFiles(SRC);
const { edges, packages } = parse(files);
const rel = (p: string): string => path.relative(SRC, p).split(path.sep).join('/');

/** The room a file lives in: 'shared', 'renderer', 'preload', 'main/engine', 'main/hf', 'main' (top level)... */
function room(file: string): string {
  const r = rel(file);
  const parts = r.split('/');
  if (parts[0] !== 'main') return parts[0]!;
  return parts.length > 2 ? `main/${parts[1]}` : 'main';
}

function violations(test: (from: string, to: string) => boolean): string[] {
  return edges.filter((e) => test(e.from, e.to)).map((e) => `${rel(e.from)} -> ${rel(e.to)}`);
}

describe('architecture (DESIGN.md "Processes and rooms")', () => {
  it('src/shared imports only src/shared (and zod): no node:, no DOM, no electron', () => {
    const bad = violations((from, to) => room(from) === 'shared' && room(to) !== 'shared');
    for (const [file, pkgs] of packages) {
      if (room(file) !== 'shared') continue;
      for (const p of pkgs) if (p !== 'zod') bad.push(`${rel(file)} -> ${p}`);
    }
    expect(bad).toEqual([]);
  });

  it('the renderer never imports main or preload code', () => {
    expect(violations((from, to) => room(from) === 'renderer' && (room(to).startsWith('main') || room(to) === 'preload'))).toEqual([]);
  });

  it('the engine knows nothing of the store, features, the app, training, hosts or Electron', () => {
    const forbidden = ['main/store', 'main/features', 'main/training', 'main/cli'];
    const topLevelForbidden = ['app.ts', 'index.ts', 'ipc.ts', 'security.ts', 'web.ts', 'serve.ts', 'cli.ts', 'dispatch.ts', 'tasks.ts'];
    expect(
      violations((from, to) => room(from) === 'main/engine' && (forbidden.includes(room(to)) || (room(to) === 'main' && topLevelForbidden.includes(path.basename(to))))),
    ).toEqual([]);
  });

  it('hf/ (file formats) imports neither engine/ nor hub/; hub/ does not import engine/', () => {
    expect(violations((from, to) => room(from) === 'main/hf' && ['main/engine', 'main/hub'].includes(room(to)))).toEqual([]);
    expect(violations((from, to) => room(from) === 'main/hub' && room(to) === 'main/engine')).toEqual([]);
  });

  it('only index.ts, security.ts, ipc.ts and engine-window.ts in main (and the preload) import electron', () => {
    const allowed = new Set(['main/index.ts', 'main/security.ts', 'main/ipc.ts', 'main/engine-window.ts']);
    const bad: string[] = [];
    for (const [file, pkgs] of packages) {
      if (!pkgs.some((p) => p === 'electron' || p.startsWith('electron/'))) continue;
      if (room(file) === 'preload' || allowed.has(rel(file))) continue;
      bad.push(rel(file));
    }
    expect(bad).toEqual([]);
  });

  it('has no import cycles (value imports)', () => {
    const graph = new Map<string, string[]>();
    for (const e of edges) if (!e.typeOnly) graph.set(e.from, [...(graph.get(e.from) ?? []), e.to]);
    const cycles: string[] = [];
    const state = new Map<string, 1 | 2>();
    const stack: string[] = [];
    const visit = (n: string): void => {
      state.set(n, 1);
      stack.push(n);
      for (const m of graph.get(n) ?? []) {
        if (state.get(m) === 1) cycles.push([...stack.slice(stack.indexOf(m)), m].map(rel).join(' -> '));
        else if (!state.has(m)) visit(m);
      }
      stack.pop();
      state.set(n, 2);
    };
    for (const f of files) if (!state.has(f)) visit(f);
    expect(cycles).toEqual([]);
  });

  it('reads FINETUNE_* variables in one module (src/main/environment.ts)', () => {
    const read = /\benv(\.|\[\s*['"`])FINETUNE_[A-Z_]+/;
    const bad = files.filter((f) => rel(f) !== 'main/environment.ts' && read.test(fs.readFileSync(f, 'utf8')));
    expect(bad.map(rel)).toEqual([]);
  });

  it('the checker sees the code base (guards the test itself)', () => {
    expect(files.length).toBeGreaterThan(100);
    expect(edges.length).toBeGreaterThan(300);
    expect(room(path.join(SRC, 'main/engine/trainer.ts'))).toBe('main/engine');
  });
});
