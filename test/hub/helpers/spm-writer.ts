/** Writes a SentencePiece ModelProto (protobuf) by hand, for small test models. */

function varint(n: number): Buffer {
  let v = BigInt.asUintN(64, BigInt(n));
  const out: number[] = [];
  do {
    let b = Number(v & 0x7fn);
    v >>= 7n;
    if (v > 0n) b |= 0x80;
    out.push(b);
  } while (v > 0n);
  return Buffer.from(out);
}

function field(num: number, wire: number, payload: Buffer): Buffer {
  return Buffer.concat([varint((num << 3) | wire), payload]);
}

function lengthDelimited(num: number, payload: Buffer): Buffer {
  return field(num, 2, Buffer.concat([varint(payload.length), payload]));
}

function float32(v: number): Buffer {
  const b = Buffer.alloc(4);
  b.writeFloatLE(v);
  return b;
}

export interface SpmSpec {
  /** [piece, score, type] with type 1 NORMAL, 2 UNKNOWN, 3 CONTROL, 4 USER_DEFINED. */
  pieces: [string, number, number][];
  unkId: number;
  /** 1 UNIGRAM, 2 BPE. */
  modelType: number;
  precompiledCharsmap?: Buffer;
}

export function encodeSentencePieceModel(spec: SpmSpec): Buffer {
  const parts: Buffer[] = [];
  for (const [piece, score, type] of spec.pieces) {
    const body = Buffer.concat([lengthDelimited(1, Buffer.from(piece, 'utf8')), field(2, 5, float32(score)), field(3, 0, varint(type))]);
    parts.push(lengthDelimited(1, body));
  }
  // trainer_spec: model_type (3), vocab_size (4), unk_id (40), bos_id (41) = -1 (a 10-byte varint)
  parts.push(lengthDelimited(2, Buffer.concat([field(3, 0, varint(spec.modelType)), field(4, 0, varint(spec.pieces.length)), field(40, 0, varint(spec.unkId)), field(41, 0, varint(-1))])));
  const normalizer = [lengthDelimited(1, Buffer.from('identity'))];
  if (spec.precompiledCharsmap) normalizer.push(lengthDelimited(2, spec.precompiledCharsmap));
  parts.push(lengthDelimited(3, Buffer.concat(normalizer)));
  return Buffer.concat(parts);
}
