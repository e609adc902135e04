/**
 * A restricted reader of PyTorch checkpoints (pytorch_model.bin) that executes nothing.
 *
 * torch.save writes a pickle whose objects are rebuilt by calling functions named in the file
 * (GLOBAL + REDUCE). A normal unpickler would call any function, which is how a malicious
 * checkpoint runs code. This reader interprets only the pickle opcodes that plain data and a
 * state dict of tensors need, and allows exactly these globals:
 *   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
 *   torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage (as storage types
 *   inside persistent ids only).
 * Anything else (os.system, builtins.eval, NEWOBJ, INST...) is refused with an error that names
 * it, before any tensor is read. Nothing is ever called: "REDUCE" of an allowed global builds a
 * plain description (a tensor view on a storage) that this module then reads as bytes.
 *
 * Formats: the zip format (torch >= 1.6: <archive>/data.pkl + <archive>/data/<key>, stored
 * entries) and the legacy format (torch < 1.6: magic, protocol, sys info, the object, the storage
 * keys, then each storage as an int64 element count + raw bytes). Little-endian only.
 * F32/F16/BF16/F64 and integer/bool tensors are returned as Float32Array (as readSafetensors does).
 */
import fs from 'node:fs';
import { AppError } from '../../shared/errors';
import { decodeElements, type WeightMap, type WeightTensor } from '../engine/safetensors';
import { isZip, ZipArchive, ZipFormatError } from './zip-reader';

/** Storage classes torch pickles by name, and the dtype of their elements. */
const STORAGE_DTYPES: Record<string, { dtype: string; bytes: number }> = {
  FloatStorage: { dtype: 'F32', bytes: 4 },
  HalfStorage: { dtype: 'F16', bytes: 2 },
  BFloat16Storage: { dtype: 'BF16', bytes: 2 },
  DoubleStorage: { dtype: 'F64', bytes: 8 },
  LongStorage: { dtype: 'I64', bytes: 8 },
  IntStorage: { dtype: 'I32', bytes: 4 },
  ShortStorage: { dtype: 'I16', bytes: 2 },
  CharStorage: { dtype: 'I8', bytes: 1 },
  ByteStorage: { dtype: 'U8', bytes: 1 },
  BoolStorage: { dtype: 'BOOL', bytes: 1 },
};

const ALLOWED_CALLABLES = new Set(['collections.OrderedDict', 'torch._utils._rebuild_tensor_v2', 'torch._utils._rebuild_parameter']);

/** The magic number and protocol version the legacy format starts with. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

// ---------------------------------------------------------------------------------------------
// Values the restricted unpickler produces
// ---------------------------------------------------------------------------------------------

class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
class PyDict {
  readonly map = new Map<string | number, PyValue>();
  /** State given by BUILD (an OrderedDict's __dict__, e.g. state_dict()._metadata); kept, unused. */
  state: PyValue = null;
  constructor(readonly ordered: boolean) {}
}
class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
class StorageRef {
  constructor(
    readonly dtype: string,
    readonly elementBytes: number,
    readonly key: string,
    readonly numel: number,
    /** Legacy views: [root key, element offset, element count]. */
    readonly view: [string, number, number] | null,
  ) {}
}
class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}
class Mark {}

type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyGlobal | StorageRef | TensorRef;

class PickleRefused extends Error {}

// ---------------------------------------------------------------------------------------------
// The restricted unpickler
// ---------------------------------------------------------------------------------------------

function describe(v: PyValue | Mark | undefined): string {
  if (v === null) return 'None';
  if (v === undefined) return 'nothing';
  if (v instanceof Mark) return 'a mark';
  if (typeof v === 'boolean') return 'a bool';
  if (typeof v === 'number' || typeof v === 'bigint') return 'an int';
  if (typeof v === 'string') return 'a string';
  if (v instanceof Uint8Array) return 'bytes';
  if (Array.isArray(v)) return 'a list';
  if (v instanceof PyTuple) return 'a tuple';
  if (v instanceof PyDict) return 'a dict';
  if (v instanceof PyGlobal) return v.qualified;
  if (v instanceof StorageRef) return 'a storage';
  return 'a tensor';
}

function asInt(v: PyValue | Mark | undefined, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw new PickleRefused(`${what} should be an integer, not ${describe(v)}`);
}

function asIntTuple(v: PyValue | Mark | undefined, what: string): number[] {
  if (!(v instanceof PyTuple)) throw new PickleRefused(`${what} should be a tuple, not ${describe(v)}`);
  return v.items.map((x, i) => asInt(x, `${what}[${i}]`));
}

interface UnpickleResult {
  value: PyValue;
  /** Byte offset just past the STOP opcode. */
  end: number;
}

/**
 * Interprets one pickle from `buf` at `start`. `persistentLoad` turns a persistent id (the
 * storage tuple) into a StorageRef. Throws PickleRefused for anything outside the allowed set.
 */
function unpickle(buf: Buffer, start: number, persistentLoad: (pid: PyValue) => StorageRef): UnpickleResult {
  const stack: (PyValue | Mark)[] = [];
  const marks: number[] = [];
  const memo = new Map<number, PyValue>();
  let p = start;

  const need = (n: number): void => {
    if (p + n > buf.length) throw new PickleRefused(`the pickle ends early at byte ${p} (needs ${n} more bytes); the file is truncated`);
  };
  const u8 = (): number => {
    need(1);
    return buf[p++]!;
  };
  const u16 = (): number => {
    need(2);
    const v = buf.readUInt16LE(p);
    p += 2;
    return v;
  };
  const u32 = (): number => {
    need(4);
    const v = buf.readUInt32LE(p);
    p += 4;
    return v;
  };
  const i32 = (): number => {
    need(4);
    const v = buf.readInt32LE(p);
    p += 4;
    return v;
  };
  const u64 = (): number => {
    need(8);
    const v = buf.readBigUInt64LE(p);
    p += 8;
    if (v > BigInt(buf.length)) throw new PickleRefused(`a length of ${v} bytes exceeds the file`);
    return Number(v);
  };
  const bytes = (n: number): Buffer => {
    need(n);
    const b = buf.subarray(p, p + n);
    p += n;
    return b;
  };
  const line = (): string => {
    const end = buf.indexOf(0x0a, p);
    if (end < 0 || end - p > 256) throw new PickleRefused('a GLOBAL name is not terminated');
    const s = buf.toString('latin1', p, end);
    p = end + 1;
    return s;
  };
  const pop = (): PyValue => {
    const v = stack.pop();
    if (v === undefined) throw new PickleRefused('the pickle pops from an empty stack');
    if (v instanceof Mark) throw new PickleRefused('the pickle pops a mark as a value');
    return v;
  };
  const top = (): PyValue => {
    const v = stack[stack.length - 1];
    if (v === undefined || v instanceof Mark) throw new PickleRefused('the pickle reads an empty stack');
    return v;
  };
  const popMark = (): PyValue[] => {
    const m = marks.pop();
    if (m === undefined) throw new PickleRefused('the pickle has no MARK to pop to');
    const items = stack.splice(m);
    items.shift(); // the Mark itself
    for (const it of items) if (it instanceof Mark) throw new PickleRefused('nested marks');
    return items as PyValue[];
  };
  const long = (b: Buffer): number | bigint => {
    if (b.length === 0) return 0;
    let v = 0n;
    for (let i = b.length - 1; i >= 0; i--) v = (v << 8n) | BigInt(b[i]!);
    if (b[b.length - 1]! & 0x80) v -= 1n << BigInt(8 * b.length);
    return v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : v;
  };
  const setItem = (d: PyValue, k: PyValue, v: PyValue): void => {
    if (!(d instanceof PyDict)) throw new PickleRefused(`SETITEM on ${describe(d)}`);
    if (typeof k !== 'string' && typeof k !== 'number') throw new PickleRefused(`a dict key is ${describe(k)}; only string and int keys are read`);
    d.map.set(k, v);
  };
  const global = (module: string, name: string): PyGlobal => {
    const qualified = `${module}.${name}`;
    const storageName = module === 'torch' ? name : '';
    if (!ALLOWED_CALLABLES.has(qualified) && !(storageName in STORAGE_DTYPES)) {
      throw new PickleRefused(`the pickle imports ${qualified}, which is not a tensor type. The file may be malicious; nothing was executed`);
    }
    return new PyGlobal(module, name);
  };

  const proto = buf[p];
  for (;;) {
    const at = p;
    const op = u8();
    switch (op) {
      case 0x80: {
        // PROTO
        const v = u8();
        if (v < 2 || v > 5) throw new PickleRefused(`pickle protocol ${v} is not supported`);
        break;
      }
      case 0x95: // FRAME
        u64();
        break;
      case 0x2e: // STOP '.'
        return { value: pop(), end: p };
      case 0x28: // MARK '('
        marks.push(stack.length);
        stack.push(new Mark());
        break;
      case 0x30: // POP '0'
        stack.pop();
        break;
      case 0x31: // POP_MARK '1'
        popMark();
        break;
      case 0x32: // DUP '2'
        stack.push(top());
        break;
      case 0x4e: // NONE 'N'
        stack.push(null);
        break;
      case 0x88: // NEWTRUE
        stack.push(true);
        break;
      case 0x89: // NEWFALSE
        stack.push(false);
        break;
      case 0x4a: // BININT 'J'
        stack.push(i32());
        break;
      case 0x4b: // BININT1 'K'
        stack.push(u8());
        break;
      case 0x4d: // BININT2 'M'
        stack.push(u16());
        break;
      case 0x8a: // LONG1
        stack.push(long(bytes(u8())));
        break;
      case 0x8b: {
        // LONG4
        const n = u32();
        if (n > 64) throw new PickleRefused('an integer of more than 64 bytes');
        stack.push(long(bytes(n)));
        break;
      }
      case 0x47: // BINFLOAT 'G'
        need(8);
        stack.push(buf.readDoubleBE(p));
        p += 8;
        break;
      case 0x58: // BINUNICODE 'X'
        stack.push(bytes(u32()).toString('utf8'));
        break;
      case 0x8c: // SHORT_BINUNICODE
        stack.push(bytes(u8()).toString('utf8'));
        break;
      case 0x8d: // BINUNICODE8
        stack.push(bytes(u64()).toString('utf8'));
        break;
      case 0x55: // SHORT_BINSTRING 'U' (Python 2 str)
        stack.push(bytes(u8()).toString('latin1'));
        break;
      case 0x54: // BINSTRING 'T'
        stack.push(bytes(u32()).toString('latin1'));
        break;
      case 0x43: // SHORT_BINBYTES 'C'
        stack.push(new Uint8Array(bytes(u8())));
        break;
      case 0x42: // BINBYTES 'B'
        stack.push(new Uint8Array(bytes(u32())));
        break;
      case 0x8e: // BINBYTES8
        stack.push(new Uint8Array(bytes(u64())));
        break;
      case 0x29: // EMPTY_TUPLE ')'
        stack.push(new PyTuple([]));
        break;
      case 0x74: // TUPLE 't'
        stack.push(new PyTuple(popMark()));
        break;
      case 0x85: // TUPLE1
        stack.push(new PyTuple([pop()]));
        break;
      case 0x86: {
        // TUPLE2
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b]));
        break;
      }
      case 0x87: {
        // TUPLE3
        const c = pop();
        const b = pop();
        const a = pop();
        stack.push(new PyTuple([a, b, c]));
        break;
      }
      case 0x5d: // EMPTY_LIST ']'
        stack.push([]);
        break;
      case 0x6c: // LIST 'l'
        stack.push(popMark());
        break;
      case 0x61: {
        // APPEND 'a'
        const v = pop();
        const list = top();
        if (!Array.isArray(list)) throw new PickleRefused(`APPEND on ${describe(list)}`);
        list.push(v);
        break;
      }
      case 0x65: {
        // APPENDS 'e'
        const items = popMark();
        const list = top();
        if (!Array.isArray(list)) throw new PickleRefused(`APPENDS on ${describe(list)}`);
        list.push(...items);
        break;
      }
      case 0x7d: // EMPTY_DICT '}'
        stack.push(new PyDict(false));
        break;
      case 0x64: {
        // DICT 'd'
        const items = popMark();
        const d = new PyDict(false);
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i]!, items[i + 1]!);
        stack.push(d);
        break;
      }
      case 0x73: {
        // SETITEM 's'
        const v = pop();
        const k = pop();
        setItem(top(), k, v);
        break;
      }
      case 0x75: {
        // SETITEMS 'u'
        const items = popMark();
        const d = top();
        for (let i = 0; i + 1 < items.length; i += 2) setItem(d, items[i]!, items[i + 1]!);
        break;
      }
      case 0x71: // BINPUT 'q'
        memo.set(u8(), top());
        break;
      case 0x72: // LONG_BINPUT 'r'
        memo.set(u32(), top());
        break;
      case 0x94: // MEMOIZE
        memo.set(memo.size, top());
        break;
      case 0x68: // BINGET 'h'
      case 0x6a: {
        // LONG_BINGET 'j'
        const key = op === 0x68 ? u8() : u32();
        if (!memo.has(key)) throw new PickleRefused(`memo entry ${key} is read before it is written`);
        stack.push(memo.get(key)!);
        break;
      }
      case 0x63: {
        // GLOBAL 'c'
        const module = line();
        const name = line();
        stack.push(global(module, name));
        break;
      }
      case 0x93: {
        // STACK_GLOBAL
        const name = pop();
        const module = pop();
        if (typeof module !== 'string' || typeof name !== 'string') throw new PickleRefused('STACK_GLOBAL without names');
        stack.push(global(module, name));
        break;
      }
      case 0x51: {
        // BINPERSID 'Q'
        stack.push(persistentLoad(pop()));
        break;
      }
      case 0x52: {
        // REDUCE 'R'
        const args = pop();
        const fn = pop();
        stack.push(reduce(fn, args));
        break;
      }
      case 0x62: {
        // BUILD 'b'
        const state = pop();
        const obj = top();
        if (!(obj instanceof PyDict)) throw new PickleRefused(`BUILD on ${describe(obj)} is not allowed`);
        obj.state = state;
        break;
      }
      default: {
        const name = OPCODE_NAMES[op] ?? `0x${op.toString(16)}`;
        throw new PickleRefused(`opcode ${name} at byte ${at - start} is not allowed (only plain data and tensors are read${proto === 0x80 ? '' : '; is this a pickle?'})`);
      }
    }
  }
}

/** Names of opcodes that are refused, for the error message. */
const OPCODE_NAMES: Record<number, string> = {
  0x81: 'NEWOBJ',
  0x92: 'NEWOBJ_EX',
  0x69: 'INST',
  0x6f: 'OBJ',
  0x50: 'PERSID',
  0x82: 'EXT1',
  0x83: 'EXT2',
  0x84: 'EXT4',
  0x49: 'INT',
  0x4c: 'LONG',
  0x53: 'STRING',
  0x56: 'UNICODE',
  0x46: 'FLOAT',
  0x67: 'GET',
  0x70: 'PUT',
  0x8f: 'EMPTY_SET',
  0x90: 'ADDITEMS',
  0x91: 'FROZENSET',
  0x96: 'BYTEARRAY8',
  0x97: 'NEXT_BUFFER',
  0x98: 'READONLY_BUFFER',
};

/** REDUCE of an allowed global: builds a description, calls nothing. */
function reduce(fn: PyValue, args: PyValue): PyValue {
  if (!(fn instanceof PyGlobal)) throw new PickleRefused(`REDUCE calls ${describe(fn)}`);
  if (!(args instanceof PyTuple)) throw new PickleRefused(`REDUCE of ${fn.qualified} without an argument tuple`);
  const a = args.items;
  switch (fn.qualified) {
    case 'collections.OrderedDict': {
      const d = new PyDict(true);
      if (a.length === 1 && Array.isArray(a[0])) {
        for (const pair of a[0]) {
          if (!(pair instanceof PyTuple) || pair.items.length !== 2) throw new PickleRefused('OrderedDict items are not pairs');
          const [k, v] = pair.items;
          if (typeof k !== 'string' && typeof k !== 'number') throw new PickleRefused('an OrderedDict key is not a string');
          d.map.set(k, v!);
        }
      } else if (a.length !== 0) {
        throw new PickleRefused('OrderedDict with unexpected arguments');
      }
      return d;
    }
    case 'torch._utils._rebuild_tensor_v2': {
      // (storage, storage_offset, size, stride, requires_grad, backward_hooks[, metadata])
      if (a.length < 6 || a.length > 7) throw new PickleRefused(`_rebuild_tensor_v2 with ${a.length} arguments`);
      const storage = a[0];
      if (!(storage instanceof StorageRef)) throw new PickleRefused(`_rebuild_tensor_v2 of ${describe(storage)}, not a storage`);
      const offset = asInt(a[1], 'storage offset');
      const shape = asIntTuple(a[2], 'size');
      const stride = asIntTuple(a[3], 'stride');
      if (shape.length !== stride.length) throw new PickleRefused('size and stride differ in length');
      const hooks = a[5];
      if (!(hooks instanceof PyDict) || hooks.map.size > 0) throw new PickleRefused('a tensor with backward hooks');
      if (a.length === 7 && a[6] !== null && !(a[6] instanceof PyDict && a[6].map.size === 0)) {
        throw new PickleRefused('a tensor with extra metadata (a tensor subclass?)');
      }
      return new TensorRef(storage, offset, shape, stride);
    }
    case 'torch._utils._rebuild_parameter': {
      // (data, requires_grad, backward_hooks): an nn.Parameter is its data tensor.
      if (a.length !== 3 || !(a[0] instanceof TensorRef)) throw new PickleRefused('_rebuild_parameter without a tensor');
      return a[0];
    }
    default:
      throw new PickleRefused(`REDUCE calls ${fn.qualified}; only tensors and OrderedDict are rebuilt`);
  }
}

function storageFromPid(pid: PyValue, legacy: boolean): StorageRef {
  if (!(pid instanceof PyTuple)) throw new PickleRefused(`a persistent id is ${describe(pid)}, not a storage tuple`);
  const [tag, type, key, , numel, view] = pid.items;
  if (tag !== 'storage') throw new PickleRefused(`a persistent id of kind ${JSON.stringify(tag)}; only storages are read`);
  if (!(type instanceof PyGlobal) || type.module !== 'torch' || !(type.name in STORAGE_DTYPES)) {
    throw new PickleRefused(`a storage of type ${describe(type as PyValue)} is not supported`);
  }
  if (typeof key !== 'string' || !/^[A-Za-z0-9_.-]{1,64}$/.test(key)) throw new PickleRefused('a storage key is not a plain name');
  const n = asInt(numel, 'storage size');
  if (n < 0) throw new PickleRefused('a negative storage size');
  const info = STORAGE_DTYPES[type.name]!;
  const expected = legacy ? 6 : 5;
  if (pid.items.length !== expected) throw new PickleRefused(`a storage id with ${pid.items.length} fields (expected ${expected})`);
  let viewInfo: [string, number, number] | null = null;
  if (legacy && view !== null && view !== undefined) {
    if (!(view instanceof PyTuple) || view.items.length !== 3 || typeof view.items[0] !== 'string') throw new PickleRefused('a malformed storage view');
    viewInfo = [view.items[0], asInt(view.items[1], 'view offset'), asInt(view.items[2], 'view size')];
  }
  return new StorageRef(info.dtype, info.bytes, key, n, viewInfo);
}

// ---------------------------------------------------------------------------------------------
// Tensors from storages
// ---------------------------------------------------------------------------------------------

/** Reads the elements a tensor view selects from its storage, row-major, as float32. */
function materialize(t: TensorRef, storageBytes: Buffer, storageNumel: number, file: string, name: string): WeightTensor {
  const { shape, stride, offset } = t;
  const count = shape.reduce((a, b) => a * b, 1);
  if (shape.some((d) => d < 0) || stride.some((s) => s < 0) || offset < 0) throw new AppError('unsupported', `${file}: tensor "${name}" has a negative size, stride or offset`);
  if (count > 0) {
    let last = offset;
    for (let i = 0; i < shape.length; i++) last += (shape[i]! - 1) * stride[i]!;
    if (last >= storageNumel) {
      throw new AppError('io', `${file}: tensor "${name}" reads element ${last} of a storage of ${storageNumel}; the file is damaged`);
    }
  }
  const el = t.storage.elementBytes;
  // Contiguous row-major view: one slice.
  let contiguous = true;
  let expect = 1;
  for (let i = shape.length - 1; i >= 0; i--) {
    if (shape[i]! !== 1 && stride[i]! !== expect) contiguous = false;
    expect *= shape[i]!;
  }
  if (contiguous) {
    return { dtype: t.storage.dtype, shape: shape.slice(), data: decodeElements(t.storage.dtype, storageBytes.subarray(offset * el, (offset + count) * el), count) };
  }
  const all = decodeElements(t.storage.dtype, storageBytes, storageNumel);
  const data = new Float32Array(count);
  const index = new Array<number>(shape.length).fill(0);
  for (let i = 0; i < count; i++) {
    let src = offset;
    for (let d = 0; d < shape.length; d++) src += index[d]! * stride[d]!;
    data[i] = all[src]!;
    for (let d = shape.length - 1; d >= 0; d--) {
      if (++index[d]! < shape[d]!) break;
      index[d] = 0;
    }
  }
  return { dtype: t.storage.dtype, shape: shape.slice(), data };
}

/** The state dict in the pickle: a flat dict of name -> tensor. */
function stateDictEntries(root: PyValue, file: string): [string, TensorRef][] {
  if (!(root instanceof PyDict)) {
    throw new AppError('unsupported', `${file}: holds ${describe(root)}, not a state dict of tensors; save the model with model.save_pretrained() or torch.save(model.state_dict())`);
  }
  const out: [string, TensorRef][] = [];
  for (const [k, v] of root.map) {
    if (!(v instanceof TensorRef)) {
      throw new AppError('unsupported', `${file}: entry "${String(k)}" is ${describe(v)}, not a tensor; only flat state dicts of tensors are read (save with model.save_pretrained())`);
    }
    out.push([String(k), v]);
  }
  return out;
}

function refused(file: string, err: unknown): never {
  if (err instanceof PickleRefused) {
    throw new AppError('unsupported', `${file}: refused to load: ${err.message}. Only PyTorch state dicts of tensors are read; prefer model.safetensors.`);
  }
  if (err instanceof ZipFormatError) throw new AppError('io', `${err.message}. Download the model again.`);
  throw err;
}

function readZipFormat(file: string): WeightMap {
  let zip: ZipArchive;
  try {
    zip = ZipArchive.open(file);
  } catch (err) {
    refused(file, err);
  }
  try {
    const pkl = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n) || n === 'data.pkl');
    if (pkl.length !== 1) throw new AppError('unsupported', `${file}: is a ZIP archive but not a PyTorch checkpoint (no single <archive>/data.pkl)`);
    const prefix = pkl[0]!.slice(0, -'data.pkl'.length);
    const byteorder = zip.entries.has(`${prefix}byteorder`) ? zip.read(`${prefix}byteorder`).toString('latin1').trim() : 'little';
    if (byteorder !== 'little') throw new AppError('unsupported', `${file}: was saved on a ${byteorder}-endian machine; only little-endian checkpoints are read`);
    let root: PyValue;
    try {
      root = unpickle(zip.read(pkl[0]!), 0, (pid) => storageFromPid(pid, false)).value;
    } catch (err) {
      refused(file, err);
    }
    const entries = stateDictEntries(root, file);
    // Read each storage once (tied weights share one), materialise its tensors, let it go.
    const byStorage = new Map<string, [string, TensorRef][]>();
    for (const e of entries) {
      const list = byStorage.get(e[1].storage.key) ?? [];
      list.push(e);
      byStorage.set(e[1].storage.key, list);
    }
    const tensors = new Map<string, WeightTensor>();
    for (const [key, list] of byStorage) {
      const storage = list[0]![1].storage;
      const entryName = `${prefix}data/${key}`;
      let bytes: Buffer;
      try {
        bytes = zip.read(entryName);
      } catch (err) {
        refused(file, err);
      }
      if (bytes.length < storage.numel * storage.elementBytes) {
        throw new AppError('io', `${file}: storage ${key} holds ${bytes.length} bytes but ${storage.numel} elements of ${storage.dtype} need ${storage.numel * storage.elementBytes}; the file is damaged`);
      }
      for (const [name, t] of list) {
        if (t.storage.dtype !== storage.dtype) throw new AppError('unsupported', `${file}: storage ${key} is read as two dtypes`);
        tensors.set(name, materialize(t, bytes, storage.numel, file, name));
      }
    }
    // Keep the checkpoint's order.
    const ordered: WeightMap = new Map();
    for (const [name] of entries) ordered.set(name, tensors.get(name)!);
    return ordered;
  } finally {
    zip.close();
  }
}

function readLegacyFormat(file: string, buf: Buffer): WeightMap {
  const noStorage = (): StorageRef => {
    throw new PickleRefused('a storage where none is allowed');
  };
  let root: PyValue;
  let keys: PyValue;
  let p: number;
  try {
    const magic = unpickle(buf, 0, noStorage);
    if (magic.value !== LEGACY_MAGIC && magic.value !== Number(LEGACY_MAGIC)) throw new PickleRefused('it is a pickle but not a PyTorch checkpoint (no magic number)');
    const protocol = unpickle(buf, magic.end, noStorage);
    if (protocol.value !== LEGACY_PROTOCOL) throw new PickleRefused(`legacy protocol ${String(protocol.value)} is not supported`);
    const sysInfo = unpickle(buf, protocol.end, noStorage);
    if (sysInfo.value instanceof PyDict && sysInfo.value.map.get('little_endian') === false) {
      throw new AppError('unsupported', `${file}: was saved on a big-endian machine; only little-endian checkpoints are read`);
    }
    const obj = unpickle(buf, sysInfo.end, (pid) => storageFromPid(pid, true));
    root = obj.value;
    const keyList = unpickle(buf, obj.end, noStorage);
    keys = keyList.value;
    p = keyList.end;
  } catch (err) {
    refused(file, err);
  }
  if (!Array.isArray(keys) || !keys.every((k) => typeof k === 'string')) throw new AppError('unsupported', `${file}: the storage key list is malformed`);
  const entries = stateDictEntries(root, file);
  // Storage element sizes: from the tensors that use them (a storage nobody uses is skipped by size only).
  const elementBytes = new Map<string, number>();
  for (const [, t] of entries) elementBytes.set(t.storage.view ? t.storage.view[0] : t.storage.key, t.storage.elementBytes);
  const storages = new Map<string, { offset: number; numel: number }>();
  for (const key of keys as string[]) {
    if (p + 8 > buf.length) throw new AppError('io', `${file}: ends before storage ${key}; the file is truncated`);
    const numel = Number(buf.readBigInt64LE(p));
    p += 8;
    const size = elementBytes.get(key);
    if (size === undefined) {
      throw new AppError('unsupported', `${file}: storage ${key} is not used by any tensor, so its size is unknown`);
    }
    if (numel < 0 || p + numel * size > buf.length) throw new AppError('io', `${file}: storage ${key} runs past the end of the file; the file is truncated`);
    storages.set(key, { offset: p, numel });
    p += numel * size;
  }
  const out: WeightMap = new Map();
  for (const [name, t] of entries) {
    const rootKey = t.storage.view ? t.storage.view[0] : t.storage.key;
    const s = storages.get(rootKey);
    if (!s) throw new AppError('io', `${file}: tensor "${name}" uses storage ${rootKey}, which the file does not hold`);
    let start = s.offset;
    let numel = s.numel;
    if (t.storage.view) {
      const [, viewOffset, viewSize] = t.storage.view;
      if (viewOffset < 0 || viewOffset + viewSize > s.numel) throw new AppError('io', `${file}: a storage view of "${name}" lies outside its storage`);
      start += viewOffset * t.storage.elementBytes;
      numel = viewSize;
    }
    out.set(name, materialize(t, buf.subarray(start, start + numel * t.storage.elementBytes), numel, file, name));
  }
  return out;
}

/**
 * Reads a pytorch_model.bin (zip or legacy format) into float32 weights, executing nothing.
 * Throws AppError('unsupported') for anything but a state dict of tensors (naming the import
 * that was refused) and AppError('io') for a truncated or damaged file.
 */
export function readPytorchBin(file: string): WeightMap {
  let head: Buffer;
  try {
    const fd = fs.openSync(file, 'r');
    try {
      head = Buffer.alloc(64);
      const n = fs.readSync(fd, head, 0, 64, 0);
      head = head.subarray(0, n);
    } finally {
      fs.closeSync(fd);
    }
  } catch (err) {
    throw new AppError('io', `${file}: cannot read: ${(err as Error).message}`);
  }
  if (isZip(head)) return readZipFormat(file);
  if (head.toString('latin1').startsWith('version https://git-lfs')) {
    throw new AppError('io', `${file}: is a Git LFS pointer, not the weights; run "git lfs pull" in the model folder or download the model again`);
  }
  if (head.length > 262 && head.toString('latin1', 257, 262) === 'ustar') {
    throw new AppError('unsupported', `${file}: uses the tar format of PyTorch before 0.4; load and re-save it with a recent torch`);
  }
  if (head[0] !== 0x80) throw new AppError('unsupported', `${file}: is not a PyTorch checkpoint (neither a ZIP archive nor a pickle)`);
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new AppError('io', `${file}: cannot read: ${(err as Error).message}`);
  }
  return readLegacyFormat(file, buf);
}

export interface TensorInfo {
  name: string;
  dtype: string;
  shape: number[];
}

/**
 * The tensors a pytorch_model.bin holds (names, dtypes, shapes) without reading their data: the
 * pickle alone, under the same restrictions as readPytorchBin (so a malicious file is refused
 * here too). For the legacy format the pickle is read from the start of the file.
 */
export function listPytorchBinTensors(file: string): TensorInfo[] {
  const info = (entries: [string, TensorRef][]): TensorInfo[] => entries.map(([name, t]) => ({ name, dtype: t.storage.dtype, shape: t.shape.slice() }));
  /** The first `max` bytes (the legacy format's pickles come before its storages). */
  const readHead = (max: number): Buffer => {
    try {
      const fd = fs.openSync(file, 'r');
      try {
        const buf = Buffer.alloc(Math.min(fs.fstatSync(fd).size, max));
        fs.readSync(fd, buf, 0, buf.length, 0);
        return buf;
      } finally {
        fs.closeSync(fd);
      }
    } catch (err) {
      throw new AppError('io', `${file}: cannot read: ${(err as Error).message}`);
    }
  };
  let head = readHead(64);
  if (isZip(head)) {
    let zip: ZipArchive;
    try {
      zip = ZipArchive.open(file);
    } catch (err) {
      refused(file, err);
    }
    try {
      const pkl = [...zip.entries.keys()].filter((n) => /^[^/]+\/data\.pkl$/.test(n) || n === 'data.pkl');
      if (pkl.length !== 1) throw new AppError('unsupported', `${file}: is a ZIP archive but not a PyTorch checkpoint (no single <archive>/data.pkl)`);
      try {
        return info(stateDictEntries(unpickle(zip.read(pkl[0]!), 0, (pid) => storageFromPid(pid, false)).value, file));
      } catch (err) {
        refused(file, err);
      }
    } finally {
      zip.close();
    }
  }
  if (head.toString('latin1').startsWith('version https://git-lfs')) {
    throw new AppError('io', `${file}: is a Git LFS pointer, not the weights; run "git lfs pull" in the model folder or download the model again`);
  }
  if (head[0] !== 0x80) throw new AppError('unsupported', `${file}: is not a PyTorch checkpoint (neither a ZIP archive nor a pickle)`);
  head = readHead(64 * 1024 * 1024);
  const noStorage = (): StorageRef => {
    throw new PickleRefused('a storage where none is allowed');
  };
  try {
    const magic = unpickle(head, 0, noStorage);
    const protocol = unpickle(head, magic.end, noStorage);
    const sysInfo = unpickle(head, protocol.end, noStorage);
    return info(stateDictEntries(unpickle(head, sysInfo.end, (pid) => storageFromPid(pid, true)).value, file));
  } catch (err) {
    refused(file, err);
  }
}

/** Reads pytorch_model.bin.index.json and every shard it names. */
export function readShardedPytorchBin(indexFile: string, resolveShard: (name: string) => string): WeightMap {
  let index: { weight_map?: Record<string, string> };
  try {
    index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as typeof index;
  } catch (err) {
    throw new AppError('io', `${indexFile}: cannot read the shard index: ${(err as Error).message}`);
  }
  if (!index.weight_map || typeof index.weight_map !== 'object') throw new AppError('io', `${indexFile}: the shard index has no weight_map`);
  const all: WeightMap = new Map();
  for (const shard of new Set(Object.values(index.weight_map))) {
    if (typeof shard !== 'string' || shard.includes('/') || shard.includes('\\') || shard.includes('..')) {
      throw new AppError('unsupported', `${indexFile}: shard name ${JSON.stringify(shard)} points outside the model folder`);
    }
    const file = resolveShard(shard);
    if (!fs.existsSync(file)) throw new AppError('not_found', `${indexFile}: the shard ${shard} is missing; download the model again`);
    for (const [name, t] of readPytorchBin(file)) all.set(name, t);
  }
  for (const [name, shard] of Object.entries(index.weight_map)) {
    if (!all.has(name)) throw new AppError('io', `${indexFile}: "${name}" is listed in the index but missing from ${shard}`);
  }
  return all;
}
