import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { fixtureDir } from '../helpers/reference';
import { agNewsSample, CLI_BIN, requireBuild } from '../helpers/app';

let home: string;
beforeAll(() => {
  requireBuild();
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-cli-'));
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

function finetune(args: string[], extraEnv: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [CLI_BIN, ...args], {
    env: { ...process.env, FINETUNE_HOME: home, FINETUNE_BACKEND: 'cpu', ...extraEnv },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.trim().split('\n').filter(Boolean) };
}

describe('finetune CLI', () => {
  let runId = '';
  let outDir = '';

  it('train --json: a start line with the run id and output folder, a line per step and per evaluation, exit 0', () => {
    const train = agNewsSample(home, 40);
    const evalFile = agNewsSample(home, 20, 'test.csv');
    outDir = path.join(home, 'exported-model');
    const r = finetune(['train', '--model', fixtureDir('bert'), '--train', train, '--eval', evalFile, '--epochs', '2', '--batch-size', '8', '--lr', '1e-3', '--max-length', '32', '--out', outDir, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.lines.map((l) => JSON.parse(l));
    expect(events[0]).toMatchObject({ event: 'start', output_dir: outDir, train_rows: 40, eval_rows: 20, labels: ['World', 'Sports', 'Business', 'Sci/Tech'] });
    runId = events[0].run_id;
    const steps = events.filter((e) => e.event === 'step');
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10]);
    expect(steps[0]).toHaveProperty('loss');
    expect(steps[0]).toHaveProperty('samples_per_second');
    expect(steps[0]).toHaveProperty('tokens_per_second');
    expect(steps[0]).toHaveProperty('eta_seconds');
    const evals = events.filter((e) => e.event === 'eval');
    expect(evals.length).toBe(2);
    expect(evals[0].per_class.length).toBe(4);
    expect(events.at(-1)).toMatchObject({ event: 'end', run_id: runId, status: 'completed', out: outDir });
    expect(fs.existsSync(path.join(outDir, 'model.safetensors'))).toBe(true);
    expect(fs.existsSync(path.join(outDir, 'tokenizer.json'))).toBe(true);
  });

  it('runs list and runs show find the run', () => {
    const list = finetune(['runs', 'list', '--json']);
    expect(list.code).toBe(0);
    expect(JSON.parse(list.stdout).map((r: { id: string }) => r.id)).toContain(runId);
    const show = finetune(['runs', 'show', runId]);
    expect(show.code).toBe(0);
    expect(show.stdout).toMatch(/status: completed/);
    expect(show.stdout).toMatch(/backend: cpu/);
  });

  it('predict --text prints one JSON line per text with label, score and scores', () => {
    const r = finetune(['predict', '--model', outDir, '--text', 'Stocks rally as earnings beat forecasts', '--text', 'The team won the cup final', '--json']);
    expect(r.code).toBe(0);
    const lines = r.lines.map((l) => JSON.parse(l));
    expect(lines.length).toBe(2);
    expect(lines[0].text).toBe('Stocks rally as earnings beat forecasts');
    expect(Object.keys(lines[0].scores).sort()).toEqual(['Business', 'Sci/Tech', 'Sports', 'World']);
    expect(lines[0].score).toBeCloseTo(lines[0].scores[lines[0].label], 6);
    const sum = Object.values(lines[0].scores as Record<string, number>).reduce((a, b) => a + b, 0);
    expect(sum).toBeCloseTo(1, 5);
  });

  it('predict --input writes a CSV with the input columns, the label, confidence and a probability per class', () => {
    const input = agNewsSample(home, 5, 'test.csv');
    const output = path.join(home, 'preds.csv');
    const r = finetune(['predict', '--model', outDir, '--input', input, '--output', output]);
    expect(r.code).toBe(0);
    const lines = fs.readFileSync(output, 'utf8').trim().split(/\r?\n/);
    expect(lines.length).toBe(6);
    expect(lines[0]).toBe('column 1,column 2,column 3,predicted_label,confidence,prob_World,prob_Sports,prob_Business,prob_Sci/Tech');
  });

  it('eval on a labelled file reports accuracy and per-class metrics', () => {
    const r = finetune(['eval', '--model', outDir, '--data', agNewsSample(home, 20, 'test.csv'), '--json']);
    expect(r.code).toBe(0);
    const out = JSON.parse(r.stdout);
    expect(out.rows).toBe(20);
    expect(out.accuracy).toBeGreaterThanOrEqual(0);
    expect(out.per_class.length).toBe(4);
  });

  it('usage errors exit 2 with one line; a missing file exits 1 naming it', () => {
    const usage = finetune(['train', '--model', fixtureDir('bert')]);
    expect(usage.code).toBe(2);
    expect(usage.stderr.trim().split('\n')).toHaveLength(1);
    expect(usage.stderr).toMatch(/--train is required/);
    const badLr = finetune(['train', '--model', fixtureDir('bert'), '--train', 'x.csv', '--lr', 'fast']);
    expect(badLr.code).toBe(2);
    expect(badLr.stderr).toMatch(/--lr: "fast" is not a number/);
    const missing = finetune(['train', '--model', fixtureDir('bert'), '--train', path.join(home, 'nope.csv')]);
    expect(missing.code).toBe(1);
    expect(missing.stderr.trim().split('\n')).toHaveLength(1);
    expect(missing.stderr).toMatch(/nope\.csv/);
    expect(finetune(['frobnicate']).code).toBe(2);
    // The fixture model has 64 positions: a longer max length is refused before any training.
    const tooLong = finetune(['train', '--model', fixtureDir('bert'), '--train', agNewsSample(home, 20), '--max-length', '100']);
    expect(tooLong.code).toBe(2);
    expect(tooLong.stderr).toMatch(/at most 64 tokens per text; set the max length to 64 or less/);
  });

  it('init writes a randomly initialised model folder that loads and predicts', () => {
    const config = path.join(home, 'tiny.json');
    fs.writeFileSync(config, JSON.stringify({ model_type: 'bert', vocab_size: 572, hidden_size: 16, num_hidden_layers: 1, num_attention_heads: 2, intermediate_size: 32, max_position_embeddings: 64 }));
    const out = path.join(home, 'init-model');
    const r = finetune(['init', '--config', config, '--tokenizer', fixtureDir('bert'), '--out', out, '--labels', 'neg,pos', '--json']);
    expect(r.code).toBe(0);
    expect(JSON.parse(r.stdout)).toMatchObject({ model_type: 'bert', labels: ['neg', 'pos'] });
    const cfg = JSON.parse(fs.readFileSync(path.join(out, 'config.json'), 'utf8'));
    expect(cfg.id2label).toEqual({ 0: 'neg', 1: 'pos' });
    const p = finetune(['predict', '--model', out, '--text', 'hello world', '--json']);
    expect(p.code).toBe(0);
    expect(['neg', 'pos']).toContain(JSON.parse(p.stdout).label);
  });
});
