/**
 * The restricted unpickler that reads PyTorch checkpoints (pytorch_model.bin) and executes nothing.
 *
 * torch.save writes a pickle whose objects are rebuilt by calling functions named in the file
 * (GLOBAL + REDUCE). A normal unpickler would call any function, which is how a malicious
 * checkpoint runs code. This one interprets only the pickle opcodes that plain data and a state
 * dict of tensors need, and allows exactly these globals:
 *   collections.OrderedDict, torch._utils._rebuild_tensor_v2, torch._utils._rebuild_parameter,
 *   torch.{Float,Half,BFloat16,Double,Long,Int,Short,Char,Byte,Bool}Storage (as storage types
 *   inside persistent ids only).
 * Anything else (os.system, builtins.eval, NEWOBJ, INST...) is refused (PickleRefused, naming it)
 * before any tensor is read. Nothing is ever called: "REDUCE" of an allowed global builds a plain
 * description (a TensorRef on a StorageRef) that pytorch-bin.ts then reads as bytes.
 *
 * Kept apart from the file formats (pytorch-bin.ts) so that the security-relevant part is one
 * small module to review.
 */

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

// ---------------------------------------------------------------------------------------------
// Values the restricted unpickler produces
// ---------------------------------------------------------------------------------------------

export class PyTuple {
  constructor(readonly items: PyValue[]) {}
}
export class PyDict {
  readonly map = new Map<string | number, PyValue>();
  /** State given by BUILD (an OrderedDict's __dict__, e.g. state_dict()._metadata); kept, unused. */
  state: PyValue = null;
  constructor(readonly ordered: boolean) {}
}
export class PyGlobal {
  constructor(
    readonly module: string,
    readonly name: string,
  ) {}
  get qualified(): string {
    return `${this.module}.${this.name}`;
  }
}
export class StorageRef {
  constructor(
    readonly dtype: string,
    readonly elementBytes: number,
    readonly key: string,
    readonly numel: number,
    /** Legacy views: [root key, element offset, element count]. */
    readonly view: [string, number, number] | null,
  ) {}
}
export class TensorRef {
  constructor(
    readonly storage: StorageRef,
    readonly offset: number,
    readonly shape: number[],
    readonly stride: number[],
  ) {}
}
export class Mark {}

export type PyValue = null | boolean | number | bigint | string | Uint8Array | PyValue[] | PyTuple | PyDict | PyGlobal | StorageRef | TensorRef;

export class PickleRefused extends Error {}

// ---------------------------------------------------------------------------------------------
// The restricted unpickler
// ---------------------------------------------------------------------------------------------

export function describe(v: PyValue | Mark | undefined): string {
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

export function asInt(v: PyValue | Mark | undefined, what: string): number {
  if (typeof v === 'number' && Number.isInteger(v)) return v;
  if (typeof v === 'bigint' && v >= BigInt(Number.MIN_SAFE_INTEGER) && v <= BigInt(Number.MAX_SAFE_INTEGER)) return Number(v);
  throw new PickleRefused(`${what} should be an integer, not ${describe(v)}`);
}

function asIntTuple(v: PyValue | Mark | undefined, what: string): number[] {
  if (!(v instanceof PyTuple)) throw new PickleRefused(`${what} should be a tuple, not ${describe(v)}`);
  return v.items.map((x, i) => asInt(x, `${what}[${i}]`));
}

export interface UnpickleResult {
  value: PyValue;
  /** Byte offset just past the STOP opcode. */
  end: number;
}

/**
 * Interprets one pickle from `buf` at `start`. `persistentLoad` turns a persistent id (the
 * storage tuple) into a StorageRef. Throws PickleRefused for anything outside the allowed set.
 */
export function unpickle(buf: Buffer, start: number, persistentLoad: (pid: PyValue) => StorageRef): UnpickleResult {
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

export function storageFromPid(pid: PyValue, legacy: boolean): StorageRef {
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
