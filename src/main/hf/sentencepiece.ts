/**
 * Reads a SentencePiece model file (spiece.model): the protobuf ModelProto of
 * google/sentencepiece's sentencepiece_model.proto, decoded by hand (wire format: varints,
 * fixed32/64, length-delimited). Only the fields the tokenizer conversion needs are kept; others
 * are skipped by wire type.
 */

export const PIECE_TYPES = { NORMAL: 1, UNKNOWN: 2, CONTROL: 3, USER_DEFINED: 4, UNUSED: 5, BYTE: 6 } as const;
export const SPM_MODEL_TYPES = { UNIGRAM: 1, BPE: 2, WORD: 3, CHAR: 4 } as const;

export interface SentencePiece {
  piece: string;
  /** float32 score, as a JS number. */
  score: number;
  /** PIECE_TYPES value (1 NORMAL when absent). */
  type: number;
}

export interface SentencePieceModel {
  pieces: SentencePiece[];
  trainerSpec: {
    modelType: number;
    unkId: number;
    bosId: number;
    eosId: number;
    padId: number;
    byteFallback: boolean;
    unkPiece: string;
  };
  normalizerSpec: {
    name: string;
    precompiledCharsmap: Uint8Array;
    addDummyPrefix: boolean;
    removeExtraWhitespaces: boolean;
    escapeWhitespaces: boolean;
  };
}

export class ProtobufError extends Error {}

class Reader {
  pos: number;
  constructor(
    readonly buf: Uint8Array,
    start = 0,
    readonly end = buf.length,
  ) {
    this.pos = start;
  }
  get done(): boolean {
    return this.pos >= this.end;
  }
  varint(): bigint {
    let result = 0n;
    let shift = 0n;
    for (let i = 0; i < 10; i++) {
      if (this.pos >= this.end) throw new ProtobufError('a varint runs past the end of its message');
      const b = this.buf[this.pos++]!;
      result |= BigInt(b & 0x7f) << shift;
      if ((b & 0x80) === 0) return result;
      shift += 7n;
    }
    throw new ProtobufError('a varint is longer than 10 bytes');
  }
  /** int32 fields: negative values are sign-extended 64-bit varints. */
  int32(): number {
    return Number(BigInt.asIntN(32, this.varint()));
  }
  bool(): boolean {
    return this.varint() !== 0n;
  }
  fixed32(): DataView {
    if (this.pos + 4 > this.end) throw new ProtobufError('a fixed32 runs past the end of its message');
    const v = new DataView(this.buf.buffer, this.buf.byteOffset + this.pos, 4);
    this.pos += 4;
    return v;
  }
  bytes(): Uint8Array {
    const len = Number(this.varint());
    if (len < 0 || this.pos + len > this.end) throw new ProtobufError('a length-delimited field runs past the end of its message');
    const b = this.buf.subarray(this.pos, this.pos + len);
    this.pos += len;
    return b;
  }
  string(): string {
    return new TextDecoder('utf-8', { fatal: true }).decode(this.bytes());
  }
  skip(wireType: number): void {
    switch (wireType) {
      case 0:
        this.varint();
        return;
      case 1:
        if (this.pos + 8 > this.end) throw new ProtobufError('a fixed64 runs past the end of its message');
        this.pos += 8;
        return;
      case 2:
        this.bytes();
        return;
      case 5:
        this.fixed32();
        return;
      default:
        throw new ProtobufError(`wire type ${wireType} is not supported`);
    }
  }
  /** Iterates fields: calls fn(fieldNumber, wireType); fn must consume the value or return false to skip it. */
  fields(fn: (field: number, wireType: number) => boolean): void {
    while (!this.done) {
      const key = Number(this.varint());
      const field = key >>> 3;
      const wireType = key & 7;
      if (field === 0) throw new ProtobufError('field number 0');
      if (!fn(field, wireType)) this.skip(wireType);
    }
  }
  sub(): Reader {
    const b = this.bytes();
    return new Reader(b);
  }
}

function expectWire(actual: number, expected: number, what: string): void {
  if (actual !== expected) throw new ProtobufError(`${what} has wire type ${actual}, expected ${expected}`);
}

export function parseSentencePieceModel(buf: Uint8Array): SentencePieceModel {
  const model: SentencePieceModel = {
    pieces: [],
    trainerSpec: { modelType: SPM_MODEL_TYPES.UNIGRAM, unkId: 0, bosId: 1, eosId: 2, padId: -1, byteFallback: false, unkPiece: '<unk>' },
    normalizerSpec: { name: '', precompiledCharsmap: new Uint8Array(0), addDummyPrefix: true, removeExtraWhitespaces: true, escapeWhitespaces: true },
  };
  const top = new Reader(buf);
  while (!top.done) {
    const key = Number(top.varint());
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1) {
      expectWire(wire, 2, 'ModelProto.pieces');
      const r = top.sub();
      const piece: SentencePiece = { piece: '', score: 0, type: PIECE_TYPES.NORMAL };
      r.fields((f, w) => {
        if (f === 1) {
          expectWire(w, 2, 'SentencePiece.piece');
          piece.piece = r.string();
          return true;
        }
        if (f === 2) {
          expectWire(w, 5, 'SentencePiece.score');
          piece.score = r.fixed32().getFloat32(0, true);
          return true;
        }
        if (f === 3) {
          expectWire(w, 0, 'SentencePiece.type');
          piece.type = r.int32();
          return true;
        }
        return false;
      });
      model.pieces.push(piece);
    } else if (field === 2) {
      expectWire(wire, 2, 'ModelProto.trainer_spec');
      const r = top.sub();
      const t = model.trainerSpec;
      r.fields((f, w) => {
        switch (f) {
          case 3:
            expectWire(w, 0, 'TrainerSpec.model_type');
            t.modelType = r.int32();
            return true;
          case 35:
            expectWire(w, 0, 'TrainerSpec.byte_fallback');
            t.byteFallback = r.bool();
            return true;
          case 40:
            expectWire(w, 0, 'TrainerSpec.unk_id');
            t.unkId = r.int32();
            return true;
          case 41:
            expectWire(w, 0, 'TrainerSpec.bos_id');
            t.bosId = r.int32();
            return true;
          case 42:
            expectWire(w, 0, 'TrainerSpec.eos_id');
            t.eosId = r.int32();
            return true;
          case 43:
            expectWire(w, 0, 'TrainerSpec.pad_id');
            t.padId = r.int32();
            return true;
          case 45:
            expectWire(w, 2, 'TrainerSpec.unk_piece');
            t.unkPiece = r.string();
            return true;
          default:
            return false;
        }
      });
    } else if (field === 3) {
      expectWire(wire, 2, 'ModelProto.normalizer_spec');
      const r = top.sub();
      const n = model.normalizerSpec;
      r.fields((f, w) => {
        switch (f) {
          case 1:
            expectWire(w, 2, 'NormalizerSpec.name');
            n.name = r.string();
            return true;
          case 2:
            expectWire(w, 2, 'NormalizerSpec.precompiled_charsmap');
            n.precompiledCharsmap = r.bytes();
            return true;
          case 3:
            expectWire(w, 0, 'NormalizerSpec.add_dummy_prefix');
            n.addDummyPrefix = r.bool();
            return true;
          case 4:
            expectWire(w, 0, 'NormalizerSpec.remove_extra_whitespaces');
            n.removeExtraWhitespaces = r.bool();
            return true;
          case 5:
            expectWire(w, 0, 'NormalizerSpec.escape_whitespaces');
            n.escapeWhitespaces = r.bool();
            return true;
          default:
            return false;
        }
      });
    } else {
      top.skip(wire);
    }
  }
  if (model.pieces.length === 0) throw new ProtobufError('the model has no pieces');
  return model;
}
