import { describe, expect, it } from 'vitest';
import { MLM_ON_FOR_SCRATCH, PRESETS, RECOMMENDED_OPTIONS } from '../../src/shared/run-config';
import { defaultWizard, parseWizard, presetOf, serializeWizard, STORAGE_KEY, Wizard } from '../../src/renderer/src/lib/wizard.svelte';

function memoryStorage(initial: Record<string, string> = {}) {
  const data = new Map(Object.entries(initial));
  return {
    getItem: (k: string) => data.get(k) ?? null,
    setItem: (k: string, v: string) => void data.set(k, v),
    data,
  };
}

describe('wizard persistence', () => {
  it('round-trips through storage', () => {
    const storage = memoryStorage();
    const w = new Wizard(storage);
    w.setFile('/data/uploads/ag.csv', 'ag.csv');
    w.data.mapping = { textColumns: [1, 2], textSeparator: ' ', labelColumn: 0, labelNames: { '1': 'World' } };
    w.data.split = { kind: 'ratio', evalRatio: 0.25, seed: 7 };
    w.data.cleaning.dropDuplicates = true;
    w.setDataset('a'.repeat(64), 'ag.csv', ['World', 'Sports']);
    w.setModel('/models/bert', 'bert');
    w.setOption('learningRate', 3e-5);
    w.setRun('20260101-000000-abcdef');
    const again = new Wizard(storage);
    expect(again.data).toEqual(w.data);
    expect(again.data.preset).toBe('custom');
    expect(JSON.parse(storage.data.get(STORAGE_KEY)!).cleaning).toEqual({ dropDuplicates: true });
  });

  it('falls back to defaults for anything missing or malformed', () => {
    expect(parseWizard(null)).toEqual(defaultWizard());
    expect(parseWizard('not json')).toEqual(defaultWizard());
    expect(parseWizard('[1,2]')).toEqual(defaultWizard());
    const w = parseWizard(
      JSON.stringify({
        file: 42,
        mapping: { textColumns: [], labelColumn: 0 },
        split: { kind: 'ratio', evalRatio: 2, seed: 1 },
        options: { learningRate: -1 },
        preset: 'turbo',
        classWeightsByLabel: { a: -1 },
        runId: '',
      }),
    );
    expect(w.file).toBeNull();
    expect(w.mapping).toBeNull();
    expect(w.split).toEqual({ kind: 'ratio', evalRatio: 0.2, seed: 42 });
    expect(w.options).toEqual(RECOMMENDED_OPTIONS);
    expect(w.preset).toBe('recommended');
    expect(w.classWeightsByLabel).toBeNull();
    expect(w.runId).toBeNull();
  });

  it('keeps valid options saved by an older version, filling new fields with defaults', () => {
    const { groupByLength: _g, ...old } = { ...RECOMMENDED_OPTIONS, epochs: 2 };
    const w = parseWizard(JSON.stringify({ options: old }));
    expect(w.options.epochs).toBe(2);
    expect(w.options.groupByLength).toBe(false);
  });

  it('a new file forgets the mapping and the prepared dataset, not the model or settings', () => {
    const w = new Wizard(memoryStorage());
    w.data.mapping = { textColumns: [1], textSeparator: ' ', labelColumn: 0 };
    w.setDataset('b'.repeat(64), 'x', ['a', 'b']);
    w.setModel('bert-base-uncased', 'BERT');
    w.applyPreset('fast');
    w.setFile('/new.csv', 'new.csv');
    expect(w.data.mapping).toBeNull();
    expect(w.data.datasetId).toBeNull();
    expect(w.data.model).toBe('bert-base-uncased');
    expect(w.data.preset).toBe('fast');
  });

  it('class weights asked for by the data doctor are applied in label order once the labels are known', () => {
    const w = new Wizard(memoryStorage());
    w.data.classWeightsByLabel = { Sports: 2, World: 0.5 };
    w.setDataset('c'.repeat(64), 'x', ['World', 'Sports', 'Other']);
    expect(w.data.options.classWeights).toEqual([0.5, 2, 1]);
    // Class weights do not make the options "custom".
    expect(w.data.preset).toBe('recommended');
  });

  it('stale class weights of another label count are dropped', () => {
    const w = new Wizard(memoryStorage());
    w.setOption('classWeights', [1, 2, 3]);
    w.setDataset('d'.repeat(64), 'x', ['a', 'b']);
    expect(w.data.options.classWeights).toBeNull();
  });

  it('presetOf recognises each preset and custom values', () => {
    for (const [id, p] of Object.entries(PRESETS)) expect(presetOf(p.options)).toBe(id);
    expect(presetOf({ ...RECOMMENDED_OPTIONS, seed: 1 })).toBe('custom');
  });

  it('survives storage that throws', () => {
    const w = new Wizard({
      getItem: () => {
        throw new Error('denied');
      },
      setItem: () => {
        throw new Error('full');
      },
    });
    expect(w.data).toEqual(defaultWizard());
    expect(() => w.setRun('x')).not.toThrow();
  });

  it('serializes without undefined clean-ups', () => {
    const d = defaultWizard();
    d.cleaning = { dropDuplicates: undefined, dropConflicting: true };
    expect(JSON.parse(serializeWizard(d)).cleaning).toEqual({ dropConflicting: true });
  });
});

describe('wizard: from scratch and new files', () => {
  const mem = () => {
    const data = new Map<string, string>();
    return { getItem: (k: string) => data.get(k) ?? null, setItem: (k: string, v: string) => void data.set(k, v) };
  };

  it('proposes the scratch preset for a model from scratch and the Recommended one back for a pretrained model', () => {
    const w = new Wizard(mem());
    expect(w.data.options.learningRate).toBe(2e-5);
    w.setModel('/d/models/scratch-mini', 'BERT mini (from scratch)', 'scratch');
    expect(w.data.modelStart).toBe('scratch');
    expect(w.data.preset).toBe('scratch');
    expect(w.data.options).toMatchObject({ learningRate: 1e-3, epochs: 5, warmupRatio: 0.1 });
    w.setModel('roberta-base', 'RoBERTa base', 'pretrained');
    expect(w.data.preset).toBe('recommended');
    expect(w.data.options.learningRate).toBe(2e-5);
  });

  it('keeps values the user changed when the model changes', () => {
    const w = new Wizard(mem());
    w.setOption('learningRate', 5e-4);
    w.setModel('/d/models/scratch-tiny', 'tiny', 'scratch');
    expect(w.data.options.learningRate).toBe(5e-4);
    expect(w.data.preset).toBe('custom');
  });

  it('survives a reload with the model start', () => {
    const storage = mem();
    const w = new Wizard(storage);
    w.setModel('/d/models/scratch-small', 'small', 'scratch');
    expect(new Wizard(storage).data).toEqual(w.data);
  });

  it('masked-LM adaptation: off by default (as measured, from scratch too), its settings kept over a reload and a model change', () => {
    const storage = mem();
    const w = new Wizard(storage);
    expect(w.data.mlm).toEqual({ enabled: false, epochs: 3, extraTextsFile: null });
    w.setModel('/d/models/scratch-tiny', 'tiny', 'scratch');
    expect(w.data.mlm.enabled).toBe(MLM_ON_FOR_SCRATCH);
    w.setMlm({ enabled: true, epochs: 5, extraTextsFile: '/d/unlabelled.txt' });
    expect(new Wizard(storage).data.mlm).toEqual({ enabled: true, epochs: 5, extraTextsFile: '/d/unlabelled.txt' });
    w.setModel('roberta-base', 'RoBERTa base', 'pretrained');
    expect(w.data.mlm).toEqual({ enabled: false, epochs: 5, extraTextsFile: '/d/unlabelled.txt' });
    // A malformed saved stage falls back to the default of the model start.
    expect(parseWizard(JSON.stringify({ modelStart: 'scratch', mlm: { enabled: 'yes', epochs: 0 } })).mlm).toEqual({ enabled: false, epochs: 3, extraTextsFile: null });
    expect(parseWizard(JSON.stringify({ modelStart: 'scratch' })).mlm.enabled).toBe(MLM_ON_FOR_SCRATCH);
    expect(parseWizard(JSON.stringify({ modelStart: 'pretrained' })).mlm.enabled).toBe(false);
  });

  it('forgets the test file, the run and its name on a new file', () => {
    const w = new Wizard(mem());
    w.setFile('/u/a.csv', 'a.csv');
    w.data.split = { kind: 'file', evalFile: '/u/a-test.csv' };
    w.data.evalFileName = 'a-test.csv';
    w.data.runName = 'my first run';
    w.setRun('run-1');
    w.setModel('bert', 'BERT');
    w.setFile('/u/b.csv', 'b.csv');
    expect(w.data.split).toEqual({ kind: 'ratio', evalRatio: 0.2, seed: 42 });
    expect(w.data.evalFileName).toBeNull();
    expect(w.data.runName).toBe('');
    expect(w.data.runId).toBeNull();
    expect(w.data.model).toBe('bert');
  });
});

describe('labels named like Object.prototype members (issue 12.3)', () => {
  it('the wizard maps saved class weights by label without Object members', () => {
    const w = new Wizard(memoryStorage());
    w.data.classWeightsByLabel = { toString: 3 };
    w.setDataset('a'.repeat(64), 'x.csv', ['constructor', '__proto__', 'toString']);
    expect(w.data.options.classWeights).toEqual([1, 1, 3]);
  });
});
