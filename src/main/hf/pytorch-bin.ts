/**
 * A reader of PyTorch checkpoints (pytorch_model.bin) that executes nothing: the pickle is read by
 * the restricted unpickler (unpickler.ts: plain data, OrderedDict and tensor rebuilds only, every
 * other global refused before any tensor is read); this module finds the pickle and the storages
 * in the file and reads the tensors' bytes.
 *
 * Formats: the zip format (torch >= 1.6: <archive>/data.pkl + <archive>/data/<key>, stored
 * entries) and the legacy format (torch < 1.6: magic, protocol, sys info, the object, the storage
 * keys, then each storage as an int64 element count + raw bytes). Little-endian only.
 * F32/F16/BF16/F64 and integer/bool tensors are returned as Float32Array (as readSafetensors does).
 */
import fs from 'node:fs';
import { AppError } from '../../shared/errors';
import { decodeElements, type WeightMap, type WeightTensor } from './safetensors';
import { describe, PickleRefused, PyDict, storageFromPid, StorageRef, TensorRef, unpickle, type PyValue } from './unpickler';
import { isZip, ZipArchive, ZipFormatError } from './zip-reader';

/** The magic number and protocol version the legacy format starts with. */
const LEGACY_MAGIC = 0x1950a86a20f9469cfc6cn;
const LEGACY_PROTOCOL = 1001;

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

/** A ZIP-format checkpoint, opened: its archive, the folder prefix of its single data.pkl and its state dict's entries. */
interface TorchZip {
  zip: ZipArchive;
  prefix: string;
  entries: [string, TensorRef][];
}

/**
 * Opens a ZIP-format checkpoint (torch.save since 1.6): finds its single `<archive>/data.pkl`,
 * refuses big-endian files, and unpickles the state dict with the restricted unpickler. The
 * caller closes `zip` (it is closed here when opening fails).
 */
function openTorchZip(file: string): TorchZip {
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
    return { zip, prefix, entries: stateDictEntries(root, file) };
  } catch (err) {
    zip.close();
    throw err;
  }
}

function readZipFormat(file: string): WeightMap {
  const { zip, prefix, entries } = openTorchZip(file);
  try {
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
    const { zip, entries } = openTorchZip(file);
    zip.close();
    return info(entries);
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
