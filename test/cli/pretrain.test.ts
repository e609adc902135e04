/**
 * `finetune pretrain` and `finetune train --mlm-epochs` as real processes (the built CLI):
 * masked-LM adaptation written as a *ForMaskedLM folder, then fine-tuning from it.
 */
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
  home = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-cli-pretrain-'));
});
afterAll(() => fs.rmSync(home, { recursive: true, force: true }));

function finetune(args: string[]) {
  const r = spawnSync(process.execPath, [CLI_BIN, ...args], {
    env: { ...process.env, FINETUNE_HOME: home, FINETUNE_BACKEND: 'cpu' },
    encoding: 'utf8',
    timeout: 300_000,
  });
  return { code: r.status, stdout: r.stdout, stderr: r.stderr, lines: r.stdout.trim().split('\n').filter(Boolean) };
}

describe('finetune pretrain', () => {
  let adapted = '';

  it('--json: adapts a model on a CSV plus a text file, writes a *ForMaskedLM folder', () => {
    const texts = agNewsSample(home, 40);
    const extra = path.join(home, 'extra.txt');
    fs.writeFileSync(extra, 'Markets rallied after the central bank held rates.\n\nThe striker scored twice in the final.\n');
    adapted = path.join(home, 'adapted');
    const r = finetune(['pretrain', '--model', fixtureDir('bert'), '--texts', texts, '--extra-texts', extra, '--epochs', '2', '--batch-size', '8', '--max-length', '32', '--lr', '1e-3', '--out', adapted, '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.lines.map((l) => JSON.parse(l));
    // 40 CSV rows (their longest field, the description) + 2 lines = 42 texts: 6 steps per epoch.
    expect(events[0]).toMatchObject({ event: 'start', texts: 42, epochs: 2, total_steps: 12, head_initialised: true });
    const steps = events.filter((e) => e.event === 'step');
    expect(steps.map((s) => s.step)).toEqual([1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12]);
    expect(steps.every((s) => s.stage === 'mlm' && Number.isFinite(s.loss) && s.loss > 0)).toBe(true);
    const end = events.at(-1);
    expect(end).toMatchObject({ event: 'end', status: 'completed', out: adapted, steps: 12 });
    expect(end.epoch_losses).toHaveLength(2);
    const config = JSON.parse(fs.readFileSync(path.join(adapted, 'config.json'), 'utf8'));
    expect(config.architectures).toEqual(['BertForMaskedLM']);
    expect(config.id2label).toBeUndefined();
    expect(fs.existsSync(path.join(adapted, 'model.safetensors'))).toBe(true);
    expect(fs.existsSync(path.join(adapted, 'tokenizer.json'))).toBe(true);
  });

  it('train --mlm-epochs: adapts first (stage "mlm" steps), then fine-tunes; the run keeps mlm-model', () => {
    const train = agNewsSample(home, 40);
    const evalFile = agNewsSample(home, 16, 'test.csv');
    const r = finetune(['train', '--model', adapted, '--train', train, '--eval', evalFile, '--epochs', '1', '--batch-size', '8', '--lr', '1e-3', '--max-length', '32', '--mlm-epochs', '1', '--mlm-lr', '1e-3', '--json']);
    expect(r.stderr).toBe('');
    expect(r.code).toBe(0);
    const events = r.lines.map((l) => JSON.parse(l));
    const runDir = events[0].run_dir as string;
    const steps = events.filter((e) => e.event === 'step');
    expect(steps.filter((s) => s.stage === 'mlm').map((s) => s.step)).toEqual([1, 2, 3, 4, 5]);
    expect(steps.filter((s) => s.stage === 'finetune').map((s) => s.step)).toEqual([1, 2, 3, 4, 5]);
    expect(steps.findIndex((s) => s.stage === 'finetune')).toBe(5);
    expect(events.at(-1)).toMatchObject({ event: 'end', status: 'completed' });
    expect(JSON.parse(fs.readFileSync(path.join(runDir, 'mlm-model', 'config.json'), 'utf8')).architectures).toEqual(['BertForMaskedLM']);
    const show = finetune(['runs', 'show', events[0].run_id, '--json']);
    expect(show.code).toBe(0);
    const detail = JSON.parse(show.stdout);
    expect(detail.config.mlm).toMatchObject({ epochs: 1, learningRate: 1e-3 });
    // Stored in SQLite by stage: the chart of each stage reads its own steps.
    expect(detail.steps.map((s: { step: number }) => s.step)).toEqual([1, 2, 3, 4, 5]);
    expect(detail.mlmSteps.map((s: { step: number; stage: string }) => [s.stage, s.step])).toEqual([['mlm', 1], ['mlm', 2], ['mlm', 3], ['mlm', 4], ['mlm', 5]]);
    expect(detail.mlmSteps.map((s: { loss: number }) => Math.round(s.loss * 1e6) / 1e6)).toEqual(steps.filter((s) => s.stage === 'mlm').map((s) => s.loss));
  });

  it('refuses a missing --texts and --mlm-texts without --mlm-epochs (usage, exit 2)', () => {
    const a = finetune(['pretrain', '--model', fixtureDir('bert'), '--out', path.join(home, 'x')]);
    expect(a.code).toBe(2);
    expect(a.stderr).toMatch(/--texts/);
    const b = finetune(['train', '--model', fixtureDir('bert'), '--train', agNewsSample(home, 40), '--mlm-texts', path.join(home, 'extra.txt')]);
    expect(b.code).toBe(2);
    expect(b.stderr).toMatch(/--mlm-epochs/);
  });
});
