/**
 * The safetensors format (https://github.com/huggingface/safetensors): an 8-byte little-endian
 * header length, a JSON header {name: {dtype, shape, data_offsets}}, then the raw bytes.
 * Floats (F32, F16, BF16, F64) are read as Float32Array; integer tensors too (they are buffers
 * such as position_ids that the loader reports and skips). Writes F32.
 */
import fs from 'node:fs';
import path from 'node:path';
import { writeFileAtomic } from '../fsutil';

export interface WeightTensor {
  /** The dtype as stored in the file (F32, F16, BF16, I64...). data is always float32. */
  dtype: string;
  shape: number[];
  data: Float32Array;
}

export type WeightMap = Map<string, WeightTensor>;

const DTYPE_BYTES: Record<string, number> = {
  F64: 8,
  F32: 4,
  F16: 2,
  BF16: 2,
  I64: 8,
  I32: 4,
  I16: 2,
  I8: 1,
  U8: 1,
  BOOL: 1,
};

export class SafetensorsError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'SafetensorsError';
  }
}

/** IEEE half to float. */
export function halfToFloat(h: number): number {
  const sign = h & 0x8000 ? -1 : 1;
  const exp = (h >> 10) & 0x1f;
  const frac = h & 0x3ff;
  if (exp === 0) return sign * 2 ** -14 * (frac / 1024);
  if (exp === 31) return frac ? NaN : sign * Infinity;
  return sign * 2 ** (exp - 15) * (1 + frac / 1024);
}

/** float16 bit pattern -> float32, all 65536 of them (256 KiB, built on first use). */
let halfTable: Float32Array | null = null;
function halfToFloatTable(): Float32Array {
  if (!halfTable) {
    halfTable = new Float32Array(65536);
    for (let h = 0; h < 65536; h++) halfTable[h] = halfToFloat(h);
  }
  return halfTable;
}

/** Little-endian tensor bytes of any supported dtype as float32 (shared with the pytorch_model.bin reader). */
export function decodeElements(dtype: string, bytes: Buffer, count: number): Float32Array {
  const out = new Float32Array(count);
  switch (dtype) {
    case 'F32':
      if (bytes.byteOffset % 4 === 0) out.set(new Float32Array(bytes.buffer, bytes.byteOffset, count));
      else for (let i = 0; i < count; i++) out[i] = bytes.readFloatLE(i * 4);
      return out;
    case 'F16': {
      const table = halfToFloatTable();
      if (bytes.byteOffset % 2 === 0) {
        const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
        for (let i = 0; i < count; i++) out[i] = table[u16[i]!]!;
      } else for (let i = 0; i < count; i++) out[i] = table[bytes.readUInt16LE(i * 2)]!;
      return out;
    }
    case 'BF16': {
      const u32 = new Uint32Array(out.buffer);
      if (bytes.byteOffset % 2 === 0) {
        const u16 = new Uint16Array(bytes.buffer, bytes.byteOffset, count);
        for (let i = 0; i < count; i++) u32[i] = u16[i]! << 16;
      } else for (let i = 0; i < count; i++) u32[i] = bytes.readUInt16LE(i * 2) << 16;
      return out;
    }
    case 'F64':
      for (let i = 0; i < count; i++) out[i] = bytes.readDoubleLE(i * 8);
      return out;
    case 'I64':
      for (let i = 0; i < count; i++) out[i] = Number(bytes.readBigInt64LE(i * 8));
      return out;
    case 'I32':
      for (let i = 0; i < count; i++) out[i] = bytes.readInt32LE(i * 4);
      return out;
    case 'I16':
      for (let i = 0; i < count; i++) out[i] = bytes.readInt16LE(i * 2);
      return out;
    case 'I8':
      for (let i = 0; i < count; i++) out[i] = bytes.readInt8(i);
      return out;
    default: // U8, BOOL
      for (let i = 0; i < count; i++) out[i] = bytes[i]!;
      return out;
  }
}

interface HeaderEntry {
  dtype: string;
  shape: number[];
  data_offsets: [number, number];
}

/** Parses a safetensors buffer. `file` names it in errors. */
export function parseSafetensors(buf: Buffer, file = 'model.safetensors'): { tensors: WeightMap; metadata: Record<string, string> } {
  if (buf.length < 8) throw new SafetensorsError(file, 'file is shorter than the 8-byte header length; it is truncated or not a safetensors file');
  const headerLen = buf.readBigUInt64LE(0);
  if (headerLen > BigInt(buf.length - 8) || headerLen > 100_000_000n) {
    throw new SafetensorsError(file, `header length ${headerLen} exceeds the file size ${buf.length}; the file is truncated or not a safetensors file`);
  }
  const n = Number(headerLen);
  let header: Record<string, unknown>;
  try {
    header = JSON.parse(buf.subarray(8, 8 + n).toString('utf8')) as Record<string, unknown>;
  } catch {
    throw new SafetensorsError(file, 'the header is not valid JSON; the file is damaged');
  }
  if (typeof header !== 'object' || header === null || Array.isArray(header)) {
    throw new SafetensorsError(file, 'the header is not a JSON object');
  }
  const dataStart = 8 + n;
  const dataLen = buf.length - dataStart;
  const tensors: WeightMap = new Map();
  let metadata: Record<string, string> = {};
  const spans: [number, number, string][] = [];
  for (const [name, raw] of Object.entries(header)) {
    if (name === '__metadata__') {
      metadata = (raw ?? {}) as Record<string, string>;
      continue;
    }
    const e = raw as HeaderEntry;
    if (!e || typeof e.dtype !== 'string' || !Array.isArray(e.shape) || !Array.isArray(e.data_offsets) || e.data_offsets.length !== 2) {
      throw new SafetensorsError(file, `tensor "${name}" has a malformed header entry`);
    }
    const size = DTYPE_BYTES[e.dtype];
    if (size === undefined) throw new SafetensorsError(file, `tensor "${name}" has unsupported dtype ${e.dtype}`);
    if (!e.shape.every((d) => Number.isInteger(d) && d >= 0)) {
      throw new SafetensorsError(file, `tensor "${name}" has an invalid shape ${JSON.stringify(e.shape)}`);
    }
    const [begin, end] = e.data_offsets;
    const count = e.shape.reduce((a, b) => a * b, 1);
    if (!Number.isInteger(begin) || !Number.isInteger(end) || begin < 0 || end < begin || end > dataLen) {
      throw new SafetensorsError(file, `tensor "${name}" has data offsets [${begin}, ${end}] outside the ${dataLen} data bytes; the file is truncated`);
    }
    if (end - begin !== count * size) {
      throw new SafetensorsError(file, `tensor "${name}" has ${end - begin} bytes but shape ${JSON.stringify(e.shape)} of ${e.dtype} needs ${count * size}`);
    }
    spans.push([begin, end, name]);
    tensors.set(name, { dtype: e.dtype, shape: e.shape.slice(), data: decodeElements(e.dtype, buf.subarray(dataStart + begin, dataStart + end), count) });
  }
  spans.sort((a, b) => a[0] - b[0]);
  for (let i = 1; i < spans.length; i++) {
    if (spans[i]![0] < spans[i - 1]![1]) {
      throw new SafetensorsError(file, `tensors "${spans[i - 1]![2]}" and "${spans[i]![2]}" overlap`);
    }
  }
  return { tensors, metadata };
}

export function readSafetensors(file: string): WeightMap {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(file);
  } catch (err) {
    throw new SafetensorsError(file, `cannot read: ${(err as Error).message}`);
  }
  return parseSafetensors(buf, file).tensors;
}

/** Reads model.safetensors.index.json and every shard it names. */
export function readShardedSafetensors(indexFile: string): WeightMap {
  let index: { weight_map?: Record<string, string> };
  try {
    index = JSON.parse(fs.readFileSync(indexFile, 'utf8')) as typeof index;
  } catch (err) {
    throw new SafetensorsError(indexFile, `cannot read the shard index: ${(err as Error).message}`);
  }
  if (!index.weight_map || typeof index.weight_map !== 'object') {
    throw new SafetensorsError(indexFile, 'the shard index has no weight_map');
  }
  const dir = path.dirname(indexFile);
  const shards = [...new Set(Object.values(index.weight_map))];
  const all: WeightMap = new Map();
  for (const shard of shards) {
    if (shard.includes('/') || shard.includes('\\') || shard.includes('..')) {
      throw new SafetensorsError(indexFile, `shard name "${shard}" points outside the model folder`);
    }
    const shardFile = path.join(dir, shard);
    if (!fs.existsSync(shardFile)) throw new SafetensorsError(indexFile, `the shard ${shard} is missing; download the model again`);
    for (const [name, t] of readSafetensors(shardFile)) all.set(name, t);
  }
  for (const [name, shard] of Object.entries(index.weight_map)) {
    if (!all.has(name)) throw new SafetensorsError(indexFile, `"${name}" is listed in the index but missing from ${shard}`);
  }
  return all;
}

/** Serialises float32 tensors (sorted by name, as the Python library does). */
export function serializeSafetensors(tensors: Iterable<[string, { shape: number[]; data: Float32Array }]>, metadata: Record<string, string> = { format: 'pt' }): Buffer {
  const entries = [...tensors].sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0));
  const header: Record<string, unknown> = { __metadata__: metadata };
  let offset = 0;
  for (const [name, t] of entries) {
    const count = t.shape.reduce((a, b) => a * b, 1);
    if (count !== t.data.length) throw new Error(`tensor ${name}: shape ${JSON.stringify(t.shape)} does not match ${t.data.length} values`);
    header[name] = { dtype: 'F32', shape: t.shape, data_offsets: [offset, offset + count * 4] };
    offset += count * 4;
  }
  let json = Buffer.from(JSON.stringify(header), 'utf8');
  const pad = (8 - (json.length % 8)) % 8;
  if (pad) json = Buffer.concat([json, Buffer.alloc(pad, 0x20)]);
  const out = Buffer.alloc(8 + json.length + offset);
  out.writeBigUInt64LE(BigInt(json.length), 0);
  json.copy(out, 8);
  let pos = 8 + json.length;
  for (const [, t] of entries) {
    const bytes = Buffer.from(t.data.buffer, t.data.byteOffset, t.data.byteLength);
    bytes.copy(out, pos);
    pos += bytes.length;
  }
  return out;
}

export function writeSafetensors(file: string, tensors: Iterable<[string, { shape: number[]; data: Float32Array }]>, metadata?: Record<string, string>): void {
  writeFileAtomic(file, serializeSafetensors(tensors, metadata));
}
