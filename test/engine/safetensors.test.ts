import { describe, expect, it } from 'vitest';
import { halfToFloat, parseSafetensors, serializeSafetensors } from '../../src/main/hf/safetensors';

function withHeader(header: object, data: Buffer): Buffer {
  const json = Buffer.from(JSON.stringify(header));
  const len = Buffer.alloc(8);
  len.writeBigUInt64LE(BigInt(json.length));
  return Buffer.concat([len, json, data]);
}

describe('safetensors', () => {
  it('round-trips float32 tensors with names sorted and the header padded to 8 bytes', () => {
    const buf = serializeSafetensors([
      ['b.weight', { shape: [2, 3], data: Float32Array.from([1, 2, 3, 4, 5, 6]) }],
      ['a.bias', { shape: [2], data: Float32Array.from([-1.5, 0.25]) }],
    ]);
    expect(Number(buf.readBigUInt64LE(0)) % 8).toBe(0);
    const { tensors, metadata } = parseSafetensors(buf);
    expect([...tensors.keys()]).toEqual(['a.bias', 'b.weight']);
    expect(Array.from(tensors.get('b.weight')!.data)).toEqual([1, 2, 3, 4, 5, 6]);
    expect(tensors.get('a.bias')!.shape).toEqual([2]);
    expect(metadata).toEqual({ format: 'pt' });
  });

  it('upcasts F16 and BF16 exactly', () => {
    const halves = [0x0000, 0x3c00, 0xc000, 0x7bff, 0x0001, 0x8000, 0x7c00, 0x3555];
    const f16 = Buffer.alloc(halves.length * 2);
    halves.forEach((h, i) => f16.writeUInt16LE(h, i * 2));
    const bf = [1, -2.5, 3.140625, 1e-3];
    const bf16 = Buffer.alloc(bf.length * 2);
    const f = new Float32Array(1);
    const u = new Uint32Array(f.buffer);
    bf.forEach((x, i) => {
      f[0] = x;
      bf16.writeUInt16LE(u[0]! >>> 16, i * 2);
    });
    const buf = withHeader(
      { h: { dtype: 'F16', shape: [halves.length], data_offsets: [0, f16.length] }, b: { dtype: 'BF16', shape: [bf.length], data_offsets: [f16.length, f16.length + bf16.length] } },
      Buffer.concat([f16, bf16]),
    );
    const t = parseSafetensors(buf).tensors;
    expect(Array.from(t.get('h')!.data)).toEqual(halves.map(halfToFloat));
    expect(Array.from(t.get('h')!.data).slice(0, 4)).toEqual([0, 1, -2, 65504]);
    expect(t.get('h')!.data[6]).toBe(Infinity);
    const expectedBf = bf.map((x) => {
      f[0] = x;
      u[0] = (u[0]! >>> 16) << 16;
      return f[0];
    });
    expect(Array.from(t.get('b')!.data)).toEqual(expectedBf);
  });

  it.each([
    ['a truncated file', (b: Buffer) => b.subarray(0, b.length - 3), /truncated|outside/],
    ['a header longer than the file', (b: Buffer) => { const c = Buffer.from(b); c.writeBigUInt64LE(10n ** 9n, 0); return c; }, /exceeds the file size/],
    ['a damaged header', (b: Buffer) => { const c = Buffer.from(b); c[9] = 0x7b; c[10] = 0x7b; return c; }, /not valid JSON/],
    ['fewer than 8 bytes', () => Buffer.from([1, 2]), /shorter than the 8-byte/],
  ])('refuses %s with a message naming the problem', (_name, damage, message) => {
    const good = serializeSafetensors([['w', { shape: [4], data: Float32Array.from([1, 2, 3, 4]) }]]);
    expect(() => parseSafetensors(damage(good), 'x.safetensors')).toThrow(message);
  });

  it('refuses a shape that does not match its bytes, and overlapping tensors', () => {
    expect(() => parseSafetensors(withHeader({ w: { dtype: 'F32', shape: [3], data_offsets: [0, 8] } }, Buffer.alloc(8)))).toThrow(/needs 12/);
    expect(() =>
      parseSafetensors(withHeader({ a: { dtype: 'F32', shape: [2], data_offsets: [0, 8] }, b: { dtype: 'F32', shape: [2], data_offsets: [4, 12] } }, Buffer.alloc(12))),
    ).toThrow(/overlap/);
    expect(() => parseSafetensors(withHeader({ a: { dtype: 'C64', shape: [1], data_offsets: [0, 8] } }, Buffer.alloc(8)))).toThrow(/unsupported dtype C64/);
  });
});
