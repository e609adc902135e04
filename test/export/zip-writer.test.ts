/**
 * The download ZIPs: written by src/main/export/zip-writer.ts, read back by the app's own ZIP
 * reader (stored entries, CRC-checked) and, for deflated entries, inflated from the raw range.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import zlib from 'node:zlib';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { checkEntryName, folderEntries, writeZip } from '../../src/main/export/zip-writer';
import { ZipArchive } from '../../src/main/hf/zip-reader';

let dir: string;
beforeAll(() => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), 'ft-zipw-'));
});
afterAll(() => fs.rmSync(dir, { recursive: true, force: true }));

/** The raw (compressed) bytes of an entry, found from its local header. */
function rawEntry(zip: ZipArchive, file: string, name: string): Buffer {
  const e = zip.entries.get(name)!;
  const bytes = fs.readFileSync(file);
  const start = e.localHeaderOffset + 30 + bytes.readUInt16LE(e.localHeaderOffset + 26) + bytes.readUInt16LE(e.localHeaderOffset + 28);
  return bytes.subarray(start, start + e.compressedSize);
}

describe('writeZip', () => {
  it('writes stored entries that the ZIP reader reads back byte for byte (CRC checked)', async () => {
    const weights = randomBytes(3 * 1024 * 1024 + 17); // more than one read chunk
    fs.writeFileSync(path.join(dir, 'model.safetensors'), weights);
    const out = path.join(dir, 'stored.zip');
    const size = await writeZip(out, [
      { name: 'm/model.safetensors', file: path.join(dir, 'model.safetensors') },
      { name: 'm/config.json', data: Buffer.from('{"a":1}'), method: 'store' },
      { name: 'm/ünïcode.txt', data: Buffer.alloc(0), method: 'store' },
    ]);
    expect(fs.statSync(out).size).toBe(size);
    expect(fs.existsSync(`${out}.part`)).toBe(false);
    const zip = ZipArchive.open(out);
    try {
      expect([...zip.entries.keys()]).toEqual(['m/model.safetensors', 'm/config.json', 'm/ünïcode.txt']);
      expect(Buffer.compare(zip.read('m/model.safetensors'), weights)).toBe(0);
      expect(zip.read('m/config.json').toString()).toBe('{"a":1}');
      expect(zip.read('m/ünïcode.txt').length).toBe(0);
    } finally {
      zip.close();
    }
  });

  it('deflates text entries: smaller, and they inflate to the original with the recorded CRC', async () => {
    const text = Buffer.from('label,text\n'.repeat(200_000));
    const out = path.join(dir, 'deflated.zip');
    await writeZip(out, [{ name: 'vocab.txt', data: text }]);
    const zip = ZipArchive.open(out);
    try {
      const e = zip.entries.get('vocab.txt')!;
      expect(e.method).toBe(8);
      expect(e.size).toBe(text.length);
      expect(e.compressedSize).toBeLessThan(text.length / 20);
      const inflated = zlib.inflateRawSync(rawEntry(zip, out, 'vocab.txt'));
      expect(Buffer.compare(inflated, text)).toBe(0);
      expect(zlib.crc32(inflated) >>> 0).toBe(e.crc32 >>> 0);
      // The reader refuses compressed entries (torch never writes them); that stays its rule.
      expect(() => zip.read('vocab.txt')).toThrow();
    } finally {
      zip.close();
    }
  });

  it('zips a folder with nested files under a prefix, and Python reads it', async () => {
    const folder = path.join(dir, 'hf');
    fs.mkdirSync(path.join(folder, 'sub'), { recursive: true });
    fs.writeFileSync(path.join(folder, 'config.json'), '{}');
    fs.writeFileSync(path.join(folder, 'sub', 'b.txt'), 'b');
    const entries = folderEntries(folder, 'model');
    expect(entries.map((e) => e.name)).toEqual(['model/config.json', 'model/sub/b.txt']);
    const out = path.join(dir, 'folder.zip');
    await writeZip(out, entries);
    let python = true;
    try {
      execFileSync('python3', ['--version']);
    } catch {
      python = false;
    }
    if (python) {
      const listed = execFileSync('python3', ['-c', 'import sys,zipfile; z=zipfile.ZipFile(sys.argv[1]); assert z.testzip() is None; print(",".join(z.namelist()))', out]).toString().trim();
      expect(listed).toBe('model/config.json,model/sub/b.txt');
    }
  });

  it('refuses unsafe names and duplicates, and leaves no partial file', async () => {
    expect(() => checkEntryName('../x')).toThrow(/not a safe name/);
    expect(() => checkEntryName('/etc/passwd')).toThrow(/not a safe name/);
    expect(() => checkEntryName('a//b')).toThrow(/not a safe name/);
    const out = path.join(dir, 'bad.zip');
    await expect(writeZip(out, [{ name: 'a', data: Buffer.from('1') }, { name: 'a', data: Buffer.from('2') }])).rejects.toThrow(/twice/);
    expect(fs.existsSync(out)).toBe(false);
    expect(fs.existsSync(`${out}.part`)).toBe(false);
  });
});
