/**
 * A small read-only ZIP reader for PyTorch checkpoints (torch.save's zip format): it reads the
 * central directory (ZIP64 included) and returns STORED entries, checking bounds and CRC-32.
 * Compressed or encrypted entries are refused: torch never writes them. Reads with a file
 * descriptor, so a 500 MB checkpoint is not held in memory twice.
 */
import fs from 'node:fs';
import zlib from 'node:zlib';

export interface ZipEntry {
  name: string;
  /** 0 = stored; anything else is refused on read. */
  method: number;
  flags: number;
  crc32: number;
  compressedSize: number;
  size: number;
  localHeaderOffset: number;
}

export class ZipFormatError extends Error {
  constructor(file: string, message: string) {
    super(`${file}: ${message}`);
    this.name = 'ZipFormatError';
  }
}

const EOCD_SIG = 0x06054b50;
const ZIP64_LOCATOR_SIG = 0x07064b50;
const ZIP64_EOCD_SIG = 0x06064b50;
const CENTRAL_SIG = 0x02014b50;
const LOCAL_SIG = 0x04034b50;

function toSafeNumber(v: bigint, file: string, what: string): number {
  if (v > BigInt(Number.MAX_SAFE_INTEGER)) throw new ZipFormatError(file, `${what} ${v} is too large`);
  return Number(v);
}

/** True when the buffer starts like a ZIP archive (local file header). */
export function isZip(head: Buffer): boolean {
  return head.length >= 4 && head.readUInt32LE(0) === LOCAL_SIG;
}

export class ZipArchive {
  readonly entries = new Map<string, ZipEntry>();
  private fd: number | null;

  private constructor(
    readonly file: string,
    fd: number,
    readonly fileSize: number,
  ) {
    this.fd = fd;
  }

  static open(file: string): ZipArchive {
    const fd = fs.openSync(file, 'r');
    try {
      const size = fs.fstatSync(fd).size;
      const zip = new ZipArchive(file, fd, size);
      zip.readCentralDirectory();
      return zip;
    } catch (err) {
      fs.closeSync(fd);
      throw err;
    }
  }

  close(): void {
    if (this.fd !== null) fs.closeSync(this.fd);
    this.fd = null;
  }

  private readAt(position: number, length: number): Buffer {
    if (this.fd === null) throw new ZipFormatError(this.file, 'the archive is closed');
    if (position < 0 || length < 0 || position + length > this.fileSize) {
      throw new ZipFormatError(this.file, `a record at byte ${position} (+${length}) lies outside the ${this.fileSize}-byte file; the file is truncated or damaged`);
    }
    const buf = Buffer.alloc(length);
    let done = 0;
    while (done < length) {
      const n = fs.readSync(this.fd, buf, done, length - done, position + done);
      if (n === 0) throw new ZipFormatError(this.file, `unexpected end of file at byte ${position + done}`);
      done += n;
    }
    return buf;
  }

  private readCentralDirectory(): void {
    const tailLen = Math.min(this.fileSize, 22 + 0xffff);
    if (tailLen < 22) throw new ZipFormatError(this.file, 'too short to be a ZIP archive');
    const tailStart = this.fileSize - tailLen;
    const tail = this.readAt(tailStart, tailLen);
    let eocd = -1;
    for (let i = tail.length - 22; i >= 0; i--) {
      if (tail.readUInt32LE(i) === EOCD_SIG) {
        eocd = i;
        break;
      }
    }
    if (eocd < 0) throw new ZipFormatError(this.file, 'no end-of-central-directory record; the file is truncated or not a ZIP archive');
    let count = tail.readUInt16LE(eocd + 10);
    let cdSize = tail.readUInt32LE(eocd + 12);
    let cdOffset = tail.readUInt32LE(eocd + 16);
    if (count === 0xffff || cdSize === 0xffffffff || cdOffset === 0xffffffff) {
      const locPos = tailStart + eocd - 20;
      const loc = this.readAt(locPos, 20);
      if (loc.readUInt32LE(0) !== ZIP64_LOCATOR_SIG) throw new ZipFormatError(this.file, 'ZIP64 locator missing');
      const z64Pos = toSafeNumber(loc.readBigUInt64LE(8), this.file, 'ZIP64 record offset');
      const z64 = this.readAt(z64Pos, 56);
      if (z64.readUInt32LE(0) !== ZIP64_EOCD_SIG) throw new ZipFormatError(this.file, 'ZIP64 end record missing');
      count = toSafeNumber(z64.readBigUInt64LE(32), this.file, 'entry count');
      cdSize = toSafeNumber(z64.readBigUInt64LE(40), this.file, 'central directory size');
      cdOffset = toSafeNumber(z64.readBigUInt64LE(48), this.file, 'central directory offset');
    }
    const cd = this.readAt(cdOffset, cdSize);
    let p = 0;
    for (let i = 0; i < count; i++) {
      if (p + 46 > cd.length || cd.readUInt32LE(p) !== CENTRAL_SIG) throw new ZipFormatError(this.file, `central directory entry ${i} is damaged`);
      const flags = cd.readUInt16LE(p + 8);
      const method = cd.readUInt16LE(p + 10);
      const crc32 = cd.readUInt32LE(p + 16);
      let compressedSize = cd.readUInt32LE(p + 20);
      let size = cd.readUInt32LE(p + 24);
      const nameLen = cd.readUInt16LE(p + 28);
      const extraLen = cd.readUInt16LE(p + 30);
      const commentLen = cd.readUInt16LE(p + 32);
      let localHeaderOffset = cd.readUInt32LE(p + 42);
      if (p + 46 + nameLen + extraLen + commentLen > cd.length) throw new ZipFormatError(this.file, `central directory entry ${i} is damaged`);
      const name = cd.toString('utf8', p + 46, p + 46 + nameLen);
      // ZIP64 extended information: the 64-bit values of the fields that hold 0xFFFFFFFF, in order.
      let e = p + 46 + nameLen;
      const extraEnd = e + extraLen;
      while (e + 4 <= extraEnd) {
        const id = cd.readUInt16LE(e);
        const len = cd.readUInt16LE(e + 2);
        if (id === 0x0001) {
          let q = e + 4;
          const take = (): number => {
            if (q + 8 > e + 4 + len) throw new ZipFormatError(this.file, `ZIP64 field of ${name} is short`);
            const v = toSafeNumber(cd.readBigUInt64LE(q), this.file, 'ZIP64 value');
            q += 8;
            return v;
          };
          if (size === 0xffffffff) size = take();
          if (compressedSize === 0xffffffff) compressedSize = take();
          if (localHeaderOffset === 0xffffffff) localHeaderOffset = take();
        }
        e += 4 + len;
      }
      this.entries.set(name, { name, method, flags, crc32, compressedSize, size, localHeaderOffset });
      p += 46 + nameLen + extraLen + commentLen;
    }
  }

  /** Where an entry's data starts (after its local header) and how long it is. */
  dataRange(name: string): { offset: number; length: number } {
    const entry = this.entries.get(name);
    if (!entry) throw new ZipFormatError(this.file, `has no entry ${name}`);
    if (entry.flags & 0x1) throw new ZipFormatError(this.file, `entry ${name} is encrypted`);
    if (entry.method !== 0) {
      throw new ZipFormatError(this.file, `entry ${name} is compressed (method ${entry.method}); PyTorch checkpoints store entries uncompressed, so this file was repacked by another tool`);
    }
    const local = this.readAt(entry.localHeaderOffset, 30);
    if (local.readUInt32LE(0) !== LOCAL_SIG) throw new ZipFormatError(this.file, `local header of ${name} is damaged`);
    const offset = entry.localHeaderOffset + 30 + local.readUInt16LE(26) + local.readUInt16LE(28);
    if (offset + entry.size > this.fileSize) {
      throw new ZipFormatError(this.file, `entry ${name} ends at byte ${offset + entry.size}, past the end of the ${this.fileSize}-byte file; the download is truncated`);
    }
    return { offset, length: entry.size };
  }

  /** Reads a stored entry and checks its CRC-32. */
  read(name: string): Buffer {
    const { offset, length } = this.dataRange(name);
    const data = this.readAt(offset, length);
    const entry = this.entries.get(name)!;
    const crc = zlib.crc32(data) >>> 0;
    if (crc !== entry.crc32 >>> 0) throw new ZipFormatError(this.file, `entry ${name} fails its CRC-32 check; the file is damaged`);
    return data;
  }
}
