/**
 * A small ZIP writer for downloads (a Hugging Face folder, a training recipe): each entry is
 * stored or deflated (node:zlib), streamed from disk in chunks, and its local header is patched
 * with the CRC-32 and sizes once the data is written, so a 440 MB weights file is never held in
 * memory. No ZIP64: an archive or entry past 4 GiB is refused with a clear error (a model of
 * that size is better copied than downloaded). Written to `<out>.part` and renamed at the end.
 */
import fs from 'node:fs';
import path from 'node:path';
import zlib from 'node:zlib';

export type ZipMethod = 'store' | 'deflate';

export interface ZipInput {
  /** The name inside the archive, with '/' between folders. */
  name: string;
  /** A file to read, or the bytes themselves. */
  file?: string;
  data?: Buffer;
  /** Default: deflate for text-like files, store for weights and already-compressed data. */
  method?: ZipMethod;
}

export class ZipTooLargeError extends Error {
  readonly code = 'zip_too_large' as const;
  constructor(what: string) {
    super(`${what} is larger than 4 GiB, which a ZIP without ZIP64 cannot hold.`);
    this.name = 'ZipTooLargeError';
  }
}

const LIMIT = 0xffffffff;
const CHUNK = 1 << 20;
const STORED_EXTENSIONS = new Set(['.safetensors', '.bin', '.pt', '.pth', '.onnx', '.zip', '.gz', '.png', '.jpg', '.h5', '.npy']);

/** Deflate for text, store for weights (they barely compress and deflating 400 MB is slow). */
export function defaultMethod(name: string): ZipMethod {
  return STORED_EXTENSIONS.has(path.extname(name).toLowerCase()) ? 'store' : 'deflate';
}

/** An entry name safe to extract: relative, '/'-separated, no '..' or empty parts. */
export function checkEntryName(name: string): string {
  const parts = name.replace(/\\/g, '/').split('/');
  if (!name || name.startsWith('/') || parts.some((p) => p === '' || p === '.' || p === '..')) throw new Error(`"${name}" is not a safe name inside a ZIP archive.`);
  return parts.join('/');
}

/** DOS date and time of `d` (local time, 2-second resolution; 1980 at the earliest). */
function dosDateTime(d: Date): { date: number; time: number } {
  const year = Math.max(1980, d.getFullYear());
  return {
    date: ((year - 1980) << 9) | ((d.getMonth() + 1) << 5) | d.getDate(),
    time: (d.getHours() << 11) | (d.getMinutes() << 5) | Math.floor(d.getSeconds() / 2),
  };
}

interface Written {
  name: Buffer;
  method: number;
  crc: number;
  compressed: number;
  size: number;
  offset: number;
  date: number;
  time: number;
}

function writeAll(fd: number, buf: Buffer, position: number): void {
  let done = 0;
  while (done < buf.length) done += fs.writeSync(fd, buf, done, buf.length - done, position + done);
}

function localHeader(e: Omit<Written, 'offset'>): Buffer {
  const h = Buffer.alloc(30);
  h.writeUInt32LE(0x04034b50, 0);
  h.writeUInt16LE(20, 4); // version needed: 2.0
  h.writeUInt16LE(0x0800, 6); // UTF-8 names
  h.writeUInt16LE(e.method, 8);
  h.writeUInt16LE(e.time, 10);
  h.writeUInt16LE(e.date, 12);
  h.writeUInt32LE(e.crc >>> 0, 14);
  h.writeUInt32LE(e.compressed, 18);
  h.writeUInt32LE(e.size, 22);
  h.writeUInt16LE(e.name.length, 26);
  h.writeUInt16LE(0, 28);
  return Buffer.concat([h, e.name]);
}

function centralHeader(e: Written): Buffer {
  const h = Buffer.alloc(46);
  h.writeUInt32LE(0x02014b50, 0);
  h.writeUInt16LE((3 << 8) | 20, 4); // made by: Unix, 2.0
  h.writeUInt16LE(20, 6);
  h.writeUInt16LE(0x0800, 8);
  h.writeUInt16LE(e.method, 10);
  h.writeUInt16LE(e.time, 12);
  h.writeUInt16LE(e.date, 14);
  h.writeUInt32LE(e.crc >>> 0, 16);
  h.writeUInt32LE(e.compressed, 20);
  h.writeUInt32LE(e.size, 24);
  h.writeUInt16LE(e.name.length, 28);
  h.writeUInt16LE(0, 30); // extra
  h.writeUInt16LE(0, 32); // comment
  h.writeUInt16LE(0, 34); // disk
  h.writeUInt16LE(0, 36); // internal attributes
  h.writeUInt32LE(((0o100644 << 16) >>> 0) >>> 0, 38); // external: a regular file, rw-r--r--
  h.writeUInt32LE(e.offset, 42);
  return Buffer.concat([h, e.name]);
}

/** The data of one entry, in chunks: a file read piece by piece, or the given bytes. */
function* chunks(input: ZipInput): Generator<Buffer> {
  if (input.data) {
    yield input.data;
    return;
  }
  const fd = fs.openSync(input.file!, 'r');
  try {
    const buf = Buffer.allocUnsafe(CHUNK);
    for (;;) {
      const n = fs.readSync(fd, buf, 0, CHUNK, null);
      if (n === 0) break;
      yield Buffer.from(buf.subarray(0, n));
    }
  } finally {
    fs.closeSync(fd);
  }
}

/**
 * Writes `entries` into the ZIP file `out` (replaced if present). Returns the archive's size.
 * A failure removes the partial file.
 */
export async function writeZip(out: string, entries: ZipInput[]): Promise<number> {
  const tmp = `${out}.part`;
  const fd = fs.openSync(tmp, 'w');
  const written: Written[] = [];
  let position = 0;
  try {
    const seen = new Set<string>();
    for (const input of entries) {
      if ((input.file === undefined) === (input.data === undefined)) throw new Error(`ZIP entry ${input.name}: give exactly one of file and data.`);
      const name = checkEntryName(input.name);
      if (seen.has(name)) throw new Error(`ZIP entry ${name} appears twice.`);
      seen.add(name);
      const method = (input.method ?? defaultMethod(name)) === 'deflate' ? 8 : 0;
      const { date, time } = dosDateTime(input.file ? fs.statSync(input.file).mtime : new Date());
      const nameBuf = Buffer.from(name, 'utf8');
      const offset = position;
      const header = localHeader({ name: nameBuf, method, crc: 0, compressed: 0, size: 0, date, time });
      writeAll(fd, header, position);
      position += header.length;
      let crc = 0;
      let size = 0;
      let compressed = 0;
      const emit = (buf: Buffer): void => {
        if (buf.length === 0) return;
        writeAll(fd, buf, position);
        position += buf.length;
        compressed += buf.length;
      };
      const deflate = method === 8 ? zlib.createDeflateRaw({ level: 6 }) : null;
      // Deflated output arrives in order on 'data' and is written at once, after the header.
      deflate?.on('data', emit);
      for (const chunk of chunks(input)) {
        crc = zlib.crc32(chunk, crc);
        size += chunk.length;
        if (size > LIMIT) throw new ZipTooLargeError(name);
        if (deflate) {
          await new Promise<void>((resolve, reject) => deflate.write(chunk, (err) => (err ? reject(err) : resolve())));
        } else {
          emit(chunk);
          // Let the host answer other requests between megabytes of a large weights file.
          await new Promise<void>((resolve) => setImmediate(resolve));
        }
      }
      if (deflate) {
        await new Promise<void>((resolve, reject) => {
          deflate.once('error', reject);
          deflate.once('end', resolve);
          deflate.end();
        });
      }
      if (compressed > LIMIT || position > LIMIT) throw new ZipTooLargeError(compressed > LIMIT ? name : 'The archive');
      const entry: Written = { name: nameBuf, method, crc, compressed, size, offset, date, time };
      writeAll(fd, localHeader(entry), offset);
      written.push(entry);
    }
    const centralStart = position;
    for (const e of written) {
      const c = centralHeader(e);
      writeAll(fd, c, position);
      position += c.length;
    }
    if (position > LIMIT || written.length > 0xffff) throw new ZipTooLargeError('The archive');
    const end = Buffer.alloc(22);
    end.writeUInt32LE(0x06054b50, 0);
    end.writeUInt16LE(written.length, 8);
    end.writeUInt16LE(written.length, 10);
    end.writeUInt32LE(position - centralStart, 12);
    end.writeUInt32LE(centralStart, 16);
    writeAll(fd, end, position);
    position += end.length;
    fs.fsyncSync(fd);
    fs.closeSync(fd);
    fs.renameSync(tmp, out);
    return position;
  } catch (err) {
    try {
      fs.closeSync(fd);
    } catch {
      // already closed
    }
    fs.rmSync(tmp, { force: true });
    throw err;
  }
}

/** Every file under `dir` as ZIP inputs named `prefix/<relative path>`, in a stable order. */
export function folderEntries(dir: string, prefix = path.basename(dir)): ZipInput[] {
  const out: ZipInput[] = [];
  const walk = (rel: string): void => {
    const names = fs.readdirSync(path.join(dir, rel), { withFileTypes: true }).sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const d of names) {
      const r = rel ? `${rel}/${d.name}` : d.name;
      if (d.isDirectory()) walk(r);
      else if (d.isFile()) out.push({ name: prefix ? `${prefix}/${r}` : r, file: path.join(dir, r) });
    }
  };
  walk('');
  return out;
}
