import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { readSafetensors, type WeightMap } from '../../src/main/hf/safetensors';
import { listPytorchBinTensors, readPytorchBin } from '../../src/main/hf/pytorch-bin';
import { readModelWeights } from '../../src/main/hf/weights';
import { AppError } from '../../src/shared/errors';
import { fixtureDir } from '../helpers/reference';
import { writeStoredZip } from './helpers/zip-writer';

const HUB_FIXTURES = path.resolve(__dirname, '../fixtures/hub');
const tmp = fs.mkdtempSync(path.join(os.tmpdir(), 'ptbin-'));
afterAll(() => fs.rmSync(tmp, { recursive: true, force: true }));

function expectSameWeights(actual: WeightMap, expected: WeightMap): void {
  expect([...actual.keys()].sort()).toEqual([...expected.keys()].sort());
  for (const [name, t] of expected) {
    const a = actual.get(name)!;
    expect(a.shape, name).toEqual(t.shape);
    expect(Buffer.from(a.data.buffer, a.data.byteOffset, a.data.byteLength).equals(Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength)), name).toBe(true);
  }
}

describe('readPytorchBin', () => {
  const reference = readSafetensors(path.join(fixtureDir('bert'), 'model.safetensors'));

  it('reads a torch.save zip checkpoint (with state_dict _metadata) bit for bit equal to the safetensors weights', () => {
    const w = readPytorchBin(path.join(HUB_FIXTURES, 'bert-pt/pytorch_model.bin'));
    expectSameWeights(w, reference);
    expect(w.get('bert.embeddings.word_embeddings.weight')!.dtype).toBe('F32');
  });

  it('reads the legacy (torch < 1.6) format', () => {
    expectSameWeights(readPytorchBin(path.join(HUB_FIXTURES, 'bert-legacy.bin')), reference);
  });

  it('reads shared storages, offsets, strides, integer and bool tensors and nn.Parameter', () => {
    const w = readPytorchBin(path.join(HUB_FIXTURES, 'views.bin'));
    const expected = readSafetensors(path.join(HUB_FIXTURES, 'views-expected.safetensors'));
    expectSameWeights(w, expected);
    expect(w.get('position_ids')!.dtype).toBe('I64');
    expect(w.get('mask')!.dtype).toBe('BOOL');
    expect(w.get('scalar')!.shape).toEqual([]);
  });

  it.each(['f16', 'bf16'])('upcasts %s exactly as torch does (.bin and .safetensors)', (name) => {
    const expected = readSafetensors(path.join(HUB_FIXTURES, `dtypes/expected-${name}.safetensors`));
    const bin = readPytorchBin(path.join(HUB_FIXTURES, `dtypes/weights-${name}.bin`));
    const st = readSafetensors(path.join(HUB_FIXTURES, `dtypes/weights-${name}.safetensors`));
    expectSameWeights(bin, expected);
    expectSameWeights(st, expected);
    expect(bin.get('encoder.weight')!.dtype).toBe(name === 'f16' ? 'F16' : 'BF16');
  });
});

// ---------------------------------------------------------------------------------------------
// Hand-made pickles: what a malicious or unsupported checkpoint looks like.
// ---------------------------------------------------------------------------------------------

const op = (...bytes: number[]): Buffer => Buffer.from(bytes);
const text = (s: string): Buffer => Buffer.from(s, 'latin1');
function unicode(s: string): Buffer {
  const b = Buffer.from(s, 'utf8');
  const len = Buffer.alloc(4);
  len.writeUInt32LE(b.length);
  return Buffer.concat([op(0x58), len, b]);
}
const PROTO2 = op(0x80, 0x02);

function checkpoint(pickle: Buffer, storages: Record<string, Buffer> = {}): string {
  const file = path.join(tmp, `ckpt-${Math.random().toString(36).slice(2)}.bin`);
  fs.writeFileSync(
    file,
    writeStoredZip([
      { name: 'archive/data.pkl', data: pickle },
      ...Object.entries(storages).map(([k, data]) => ({ name: `archive/data/${k}`, data })),
      { name: 'archive/version', data: text('3\n') },
    ]),
  );
  return file;
}

/** {name: tensor(storage key '0', float32, shape (n,))} as torch.save writes it, with the rebuild global replaceable. */
function tensorDictPickle(name: string, n: number, rebuild = 'torch._utils\n_rebuild_tensor_v2\n', storageType = 'torch\nFloatStorage\n'): Buffer {
  return Buffer.concat([
    PROTO2,
    text('ccollections\nOrderedDict\n'), op(0x29, 0x52), // OrderedDict()
    op(0x28), unicode(name),
    text(`c${rebuild}`),
    op(0x28),
    op(0x28), unicode('storage'), text(`c${storageType}`), unicode('0'), unicode('cpu'), op(0x4b, n), op(0x74), op(0x51), // persistent id
    op(0x4b, 0), op(0x4b, n, 0x85), op(0x4b, 1, 0x85), op(0x89),
    text('ccollections\nOrderedDict\n'), op(0x29, 0x52),
    op(0x74, 0x52), // args tuple, REDUCE
    op(0x75, 0x2e), // SETITEMS, STOP
  ]);
}

function expectRefused(fn: () => unknown, pattern: RegExp): void {
  let caught: unknown;
  try {
    fn();
  } catch (err) {
    caught = err;
  }
  expect(caught).toBeInstanceOf(AppError);
  expect((caught as AppError).code).toBe('unsupported');
  expect((caught as AppError).message).toMatch(pattern);
}

describe('readPytorchBin refuses anything but tensors, executing nothing', () => {
  const marker = path.join(tmp, 'pwned');

  it('a hand-made state dict is read (the helpers build what torch writes)', () => {
    const data = Buffer.alloc(12);
    [1.5, -2, 3.25].forEach((v, i) => data.writeFloatLE(v, i * 4));
    const w = readPytorchBin(checkpoint(tensorDictPickle('w', 3), { '0': data }));
    expect([...w.get('w')!.data]).toEqual([1.5, -2, 3.25]);
  });

  it('GLOBAL os.system with REDUCE (the classic payload)', () => {
    const evil = Buffer.concat([PROTO2, text('cposix\nsystem\n'), unicode(`touch ${marker}`), op(0x85, 0x52, 0x2e)]);
    expectRefused(() => readPytorchBin(checkpoint(evil)), /refused to load: the pickle imports posix\.system.*nothing was executed/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('the same payload in the legacy (non-zip) format', () => {
    const file = path.join(tmp, 'legacy-evil.bin');
    fs.writeFileSync(file, Buffer.concat([PROTO2, text('cos\nsystem\n'), unicode(`touch ${marker}`), op(0x85, 0x52, 0x2e)]));
    expectRefused(() => readPytorchBin(file), /imports os\.system/);
    expect(fs.existsSync(marker)).toBe(false);
  });

  it('a tensor rebuilt by builtins.eval instead of _rebuild_tensor_v2', () => {
    expectRefused(() => readPytorchBin(checkpoint(tensorDictPickle('w', 3, 'builtins\neval\n'))), /imports builtins\.eval/);
  });

  it('a storage type that is not a torch storage', () => {
    expectRefused(() => readPytorchBin(checkpoint(tensorDictPickle('w', 3, 'torch._utils\n_rebuild_tensor_v2\n', 'subprocess\nPopen\n'))), /imports subprocess\.Popen/);
  });

  it('STACK_GLOBAL (protocol 4) naming builtins.exec', () => {
    const evil = Buffer.concat([op(0x80, 0x04), unicode('builtins'), unicode('exec'), op(0x93), unicode('1'), op(0x85, 0x52, 0x2e)]);
    expectRefused(() => readPytorchBin(checkpoint(evil)), /imports builtins\.exec/);
  });

  it('NEWOBJ and INST opcodes', () => {
    const newobj = Buffer.concat([PROTO2, text('ccollections\nOrderedDict\n'), op(0x29, 0x81, 0x2e)]);
    expectRefused(() => readPytorchBin(checkpoint(newobj)), /opcode NEWOBJ/);
    const inst = Buffer.concat([PROTO2, op(0x28), text('iposix\nsystem\n'), op(0x2e)]);
    expectRefused(() => readPytorchBin(checkpoint(inst)), /opcode INST/);
  });

  it('calling an allowed storage class (REDUCE on torch.FloatStorage)', () => {
    const p = Buffer.concat([PROTO2, text('ctorch\nFloatStorage\n'), op(0x29, 0x52, 0x2e)]);
    expectRefused(() => readPytorchBin(checkpoint(p)), /REDUCE calls torch\.FloatStorage/);
  });

  it('a whole pickled nn.Module instead of a state dict', () => {
    const p = Buffer.concat([PROTO2, text('ctorch.nn.modules.linear\nLinear\n'), op(0x29, 0x81, 0x2e)]);
    expectRefused(() => readPytorchBin(checkpoint(p)), /imports torch\.nn\.modules\.linear\.Linear/);
  });

  it('a state dict holding something other than tensors', () => {
    const p = Buffer.concat([PROTO2, op(0x7d), unicode('epoch'), op(0x4b, 3, 0x73, 0x2e)]);
    expectRefused(() => readPytorchBin(checkpoint(p)), /entry "epoch" is an int, not a tensor/);
  });
});

describe('readPytorchBin on damaged files', () => {
  const good = fs.readFileSync(path.join(HUB_FIXTURES, 'bert-pt/pytorch_model.bin'));

  function expectError(file: string, code: string, pattern: RegExp): void {
    let caught: unknown;
    try {
      readPytorchBin(file);
    } catch (err) {
      caught = err;
    }
    expect(caught).toBeInstanceOf(AppError);
    expect((caught as AppError).code).toBe(code);
    expect((caught as AppError).message).toMatch(pattern);
  }

  it('a truncated download', () => {
    const file = path.join(tmp, 'truncated.bin');
    fs.writeFileSync(file, good.subarray(0, Math.floor(good.length / 2)));
    expectError(file, 'io', /truncated|damaged|end-of-central-directory/);
  });

  it('a flipped byte inside a storage (CRC-32)', () => {
    const file = path.join(tmp, 'flipped.bin');
    const copy = Buffer.from(good);
    copy[Math.floor(copy.length / 2)] ^= 0xff;
    fs.writeFileSync(file, copy);
    expectError(file, 'io', /CRC-32/);
  });

  it('a compressed entry (repacked by another zip tool)', () => {
    const file = path.join(tmp, 'deflated.bin');
    fs.writeFileSync(file, writeStoredZip([{ name: 'archive/data.pkl', data: text('x'), method: 8 }]));
    expectError(file, 'io', /compressed/);
  });

  it('a Git LFS pointer instead of the weights', () => {
    const file = path.join(tmp, 'pointer.bin');
    fs.writeFileSync(file, 'version https://git-lfs.github.com/spec/v1\noid sha256:abc\nsize 123\n');
    expectError(file, 'io', /git lfs pull/);
  });

  it('a big-endian checkpoint is refused, by the reader and by the listing alike', () => {
    const file = path.join(tmp, 'big-endian.bin');
    fs.writeFileSync(
      file,
      writeStoredZip([
        { name: 'archive/data.pkl', data: tensorDictPickle('w', 2) },
        { name: 'archive/data/0', data: Buffer.alloc(8) },
        { name: 'archive/byteorder', data: text('big') },
      ]),
    );
    expectError(file, 'unsupported', /big-endian/);
    expect(() => listPytorchBinTensors(file)).toThrow(/big-endian/);
  });

  it('a storage shorter than its tensors', () => {
    const file = checkpoint(tensorDictPickle('w', 3), { '0': Buffer.alloc(8) });
    expectError(file, 'io', /storage 0 holds 8 bytes but 3 elements/);
  });
});

describe('readModelWeights', () => {
  it('prefers model.safetensors, then the safetensors index, then pytorch_model.bin, then its index', () => {
    const dir = path.join(tmp, 'formats');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(HUB_FIXTURES, 'bert-pt/pytorch_model.bin'), path.join(dir, 'pytorch_model.bin'));
    expect(readModelWeights(dir).format).toBe('pytorch-bin');
    fs.copyFileSync(path.join(fixtureDir('bert'), 'model.safetensors'), path.join(dir, 'model.safetensors'));
    expect(readModelWeights(dir).format).toBe('safetensors');
  });

  it('reads sharded pytorch_model.bin through its index', () => {
    const { weights, format } = readModelWeights(path.join(HUB_FIXTURES, 'bert-pt-sharded'));
    expect(format).toBe('sharded-pytorch-bin');
    expectSameWeights(weights, readSafetensors(path.join(fixtureDir('bert'), 'model.safetensors')));
  });

  it('names a missing shard and folders without weights', () => {
    const dir = path.join(tmp, 'missing-shard');
    fs.mkdirSync(dir);
    fs.copyFileSync(path.join(HUB_FIXTURES, 'bert-pt-sharded/pytorch_model.bin.index.json'), path.join(dir, 'pytorch_model.bin.index.json'));
    fs.copyFileSync(path.join(HUB_FIXTURES, 'bert-pt-sharded/pytorch_model-00001-of-00002.bin'), path.join(dir, 'pytorch_model-00001-of-00002.bin'));
    expect(() => readModelWeights(dir)).toThrow(/pytorch_model-00002-of-00002\.bin missing/);
    const empty = path.join(tmp, 'tf-only');
    fs.mkdirSync(empty);
    fs.writeFileSync(path.join(empty, 'tf_model.h5'), '');
    expect(() => readModelWeights(empty)).toThrow(/no weights found.*tf_model\.h5 \(TensorFlow weights\).*from_tf=True/);
  });
});
