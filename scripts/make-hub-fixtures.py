#!/usr/bin/python3
"""Writes test/fixtures/hub: real PyTorch checkpoints for the restricted pytorch_model.bin reader.

Run with Debian's torch (apt-get install -y python3-torch libopenblas0-pthread):

    /usr/bin/python3 scripts/make-hub-fixtures.py test/fixtures/hub

Every file is written by torch.save itself (zip format, and the legacy pre-1.6 format with
_use_new_zipfile_serialization=False), so the tests read what real checkpoints contain. The
expected values are written next to them as float32 safetensors (torch's own upcast), so the
TypeScript tests compare bit for bit. The values are deterministic (the reference
fixture ../shared/reference/fixtures/bert/model.safetensors and torch.manual_seed(0)); the bytes of
bert-legacy.bin are not, since the legacy format names storages by Python object address.
Needs python3-sentencepiece too (apt-get install -y python3-sentencepiece) for albert-spm/.
"""
import json
import os
import shutil
import struct
import sys
from collections import OrderedDict

import torch

HERE = os.path.dirname(os.path.abspath(__file__))
REFERENCE_BERT = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "reference", "fixtures", "bert"))

DTYPES = {"F32": torch.float32, "F16": torch.float16, "BF16": torch.bfloat16, "I64": torch.int64}


def read_safetensors(path):
    with open(path, "rb") as f:
        buf = f.read()
    (n,) = struct.unpack("<Q", buf[:8])
    header = json.loads(buf[8 : 8 + n])
    out = OrderedDict()
    for name, e in header.items():
        if name == "__metadata__":
            continue
        b, end = e["data_offsets"]
        raw = bytearray(buf[8 + n + b : 8 + n + end])
        t = torch.frombuffer(raw, dtype=DTYPES[e["dtype"]]).reshape(e["shape"]).clone()
        out[name] = t
    return out


def write_safetensors_f32(path, tensors):
    """Float32 safetensors (sorted names) of the given tensors, made contiguous."""
    names = sorted(tensors)
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in names:
        t = tensors[name].detach().contiguous().to(torch.float32)
        data = t.numpy().tobytes()
        header[name] = {"dtype": "F32", "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)


def write_safetensors_dtype(path, tensors, dtype_name):
    """Safetensors in one float dtype (F16 or BF16), as transformers saves half-precision models."""
    names = sorted(tensors)
    header = {"__metadata__": {"format": "pt"}}
    blobs = []
    offset = 0
    for name in names:
        t = tensors[name].detach().contiguous().to(DTYPES[dtype_name])
        data = t.view(torch.int16).numpy().tobytes()
        header[name] = {"dtype": dtype_name, "shape": list(t.shape), "data_offsets": [offset, offset + len(data)]}
        offset += len(data)
        blobs.append(data)
    js = json.dumps(header, separators=(",", ":")).encode()
    js += b" " * ((8 - len(js) % 8) % 8)
    with open(path, "wb") as f:
        f.write(struct.pack("<Q", len(js)))
        f.write(js)
        for b in blobs:
            f.write(b)


def with_metadata(tensors):
    """An OrderedDict like nn.Module.state_dict() returns: with the _metadata attribute (module
    versions), which torch.save pickles as a BUILD of the dict's __dict__."""
    state = OrderedDict(tensors)
    meta = OrderedDict()
    meta[""] = {"version": 1}
    for name in tensors:
        parts = name.split(".")[:-1]
        for i in range(1, len(parts) + 1):
            meta[".".join(parts[:i])] = {"version": 1}
    state._metadata = meta
    return state


def main(out_dir):
    if os.path.exists(out_dir):
        shutil.rmtree(out_dir)
    os.makedirs(out_dir)
    bert = read_safetensors(os.path.join(REFERENCE_BERT, "model.safetensors"))

    # 1. A model folder in the small Google BERTs' shape: config.json, pytorch_model.bin, vocab.txt.
    pt = os.path.join(out_dir, "bert-pt")
    os.makedirs(pt)
    shutil.copyfile(os.path.join(REFERENCE_BERT, "config.json"), os.path.join(pt, "config.json"))
    shutil.copyfile(os.path.join(REFERENCE_BERT, "vocab.txt"), os.path.join(pt, "vocab.txt"))
    state = with_metadata(bert)
    torch.save(state, os.path.join(pt, "pytorch_model.bin"))

    # 2. The same weights in the legacy (pre-1.6, not zip) format.
    torch.save(state, os.path.join(out_dir, "bert-legacy.bin"), _use_new_zipfile_serialization=False)

    # 3. Sharded pytorch_model.bin with its index, as save_pretrained(max_shard_size=...) writes it.
    sh = os.path.join(out_dir, "bert-pt-sharded")
    os.makedirs(sh)
    shutil.copyfile(os.path.join(REFERENCE_BERT, "config.json"), os.path.join(sh, "config.json"))
    names = list(bert)
    half = len(names) // 2
    shards = [names[:half], names[half:]]
    weight_map = {}
    total = 0
    for i, part in enumerate(shards):
        fname = f"pytorch_model-{i + 1:05d}-of-{len(shards):05d}.bin"
        torch.save(OrderedDict((k, bert[k]) for k in part), os.path.join(sh, fname))
        for k in part:
            weight_map[k] = fname
            total += bert[k].numel() * 4
    with open(os.path.join(sh, "pytorch_model.bin.index.json"), "w") as f:
        json.dump({"metadata": {"total_size": total}, "weight_map": weight_map}, f, indent=2)

    # 4. Half precision: F16 and BF16 weights as safetensors and as pytorch_model.bin, and the
    # float32 values torch itself gets when it upcasts them.
    torch.manual_seed(0)
    small = OrderedDict(
        [
            ("encoder.weight", torch.randn(16, 8) * 3),
            ("encoder.bias", torch.randn(8)),
            ("extremes", torch.tensor([0.0, -0.0, 1e-8, 6e-5, 65504.0, 1e5, -3.5, 1.0 / 3.0])),
        ]
    )
    dt = os.path.join(out_dir, "dtypes")
    os.makedirs(dt)
    for name, dtype in (("f16", torch.float16), ("bf16", torch.bfloat16)):
        cast = OrderedDict((k, v.to(dtype)) for k, v in small.items())
        torch.save(cast, os.path.join(dt, f"weights-{name}.bin"))
        write_safetensors_dtype(os.path.join(dt, f"weights-{name}.safetensors"), small, name.upper())
        write_safetensors_f32(os.path.join(dt, f"expected-{name}.safetensors"), OrderedDict((k, v.float()) for k, v in cast.items()))

    # 5. Views: tensors sharing a storage (tied weights), a storage offset, a transposed
    # (non-contiguous) tensor, integer buffers, a bool mask, and an nn.Parameter.
    base = torch.arange(24, dtype=torch.float32).reshape(4, 6) / 7
    views = OrderedDict(
        [
            ("tied.a", base),
            ("tied.b", base),
            ("offset", base.view(-1)[5:17].reshape(3, 4)),
            ("transposed", base.t()),
            ("strided", base[:, ::2]),
            ("position_ids", torch.arange(10, dtype=torch.int64).unsqueeze(0)),
            ("int32", torch.tensor([-3, 0, 7], dtype=torch.int32)),
            ("mask", torch.tensor([True, False, True])),
            ("scalar", torch.tensor(2.5)),
            ("param", torch.nn.Parameter(torch.linspace(-1, 1, 5))),
        ]
    )
    torch.save(views, os.path.join(out_dir, "views.bin"))
    write_safetensors_f32(os.path.join(out_dir, "views-expected.safetensors"), OrderedDict((k, v.detach().float()) for k, v in views.items()))

    make_sentencepiece_fixture(out_dir)

    with open(os.path.join(out_dir, "README.md"), "w") as f:
        f.write(
            "Generated by `/usr/bin/python3 scripts/make-hub-fixtures.py test/fixtures/hub` with torch "
            + torch.__version__
            + ". Do not edit by hand.\n\n"
            "- `bert-pt/`: the reference bert fixture as config.json + pytorch_model.bin (zip) + vocab.txt.\n"
            "- `bert-legacy.bin`: the same weights, legacy (pre-1.6) serialisation.\n"
            "- `bert-pt-sharded/`: the same weights in two pytorch_model-0000x-of-00002.bin shards + index.\n"
            "- `dtypes/`: F16/BF16 weights (safetensors and .bin) and torch's float32 upcast of them.\n"
            "- `views.bin` + `views-expected.safetensors`: shared storages, offsets, strides, ints, bool, Parameter.\n"
            "- `albert-spm/`: a small ALBERT-style Unigram spiece.model (sentencepiece "
            + spm_version()
            + ", trained on ag_news/train_5k.csv) and\n"
            "  `albert-spm-expected.json`: the ids Python's slow AlbertTokenizer logic gives for the first\n"
            "  ag_news/test.csv rows (text = title + ' ' + description), computed with sentencepiece itself.\n"
        )


def spm_version():
    try:
        import sentencepiece

        return sentencepiece.__version__
    except ImportError:
        return "(not installed)"


def albert_slow_tokenize(sp, text):
    """transformers' AlbertTokenizer.preprocess_text + _tokenize (do_lower_case, remove_space, no accents)."""
    import unicodedata

    out = " ".join(text.strip().split())
    out = out.replace("``", '"').replace("''", '"')
    out = unicodedata.normalize("NFKD", out)
    out = "".join(c for c in out if not unicodedata.combining(c))
    out = out.lower()
    pieces = sp.encode(out, out_type=str)
    new_pieces = []
    for piece in pieces:
        if len(piece) > 1 and piece[-1] == "," and piece[-2].isdigit():
            cur = sp.EncodeAsPieces(piece[:-1].replace("\u2581", ""))
            if piece[0] != "\u2581" and cur[0][0] == "\u2581":
                if len(cur[0]) == 1:
                    cur = cur[1:]
                else:
                    cur[0] = cur[0][1:]
            cur.append(piece[-1])
            new_pieces.extend(cur)
        else:
            new_pieces.append(piece)
    return [sp.piece_to_id(p) for p in new_pieces]


def make_sentencepiece_fixture(out_dir):
    """An ALBERT-style SentencePiece Unigram model (ids 0-4 <pad> <unk> [CLS] [SEP] [MASK], user
    symbols after them, nmt_nfkc normalisation with its precompiled charsmap), and the ids the
    slow AlbertTokenizer gives, as the reference for the spiece.model -> tokenizer.json conversion."""
    import csv
    import io

    import sentencepiece as spm

    data = os.path.normpath(os.path.join(HERE, "..", "..", "shared", "datasets", "ag_news"))
    with open(os.path.join(data, "train_5k.csv"), newline="", encoding="utf-8") as f:
        train = [" ".join(row[1:]) for row in csv.reader(f)]
    model = io.BytesIO()
    spm.SentencePieceTrainer.train(
        sentence_iterator=iter(train),
        model_writer=model,
        model_type="unigram",
        vocab_size=1200,
        pad_id=0,
        unk_id=1,
        bos_id=-1,
        eos_id=-1,
        control_symbols=["[CLS]", "[SEP]", "[MASK]"],
        user_defined_symbols=["(", ")", '"', "-", ".", "\u2013", "\u00a3", "\u20ac"],
        normalization_rule_name="nmt_nfkc",
        num_threads=1,
        seed_sentencepiece_size=20000,
        input_sentence_size=0,
        shuffle_input_sentence=False,
        minloglevel=2,
    )
    d = os.path.join(out_dir, "albert-spm")
    os.makedirs(d)
    with open(os.path.join(d, "spiece.model"), "wb") as f:
        f.write(model.getvalue())
    with open(os.path.join(REFERENCE_BERT, "..", "albert", "config.json")) as f:
        config = json.load(f)
    sp = spm.SentencePieceProcessor(model_proto=model.getvalue())
    config["vocab_size"] = sp.get_piece_size()
    with open(os.path.join(d, "config.json"), "w") as f:
        json.dump(config, f, indent=2)
    with open(os.path.join(data, "test.csv"), newline="", encoding="utf-8") as f:
        rows = [row for _, row in zip(range(200), csv.reader(f))]
    cls, sep = sp.piece_to_id("[CLS]"), sp.piece_to_id("[SEP]")
    cases = [[cls] + albert_slow_tokenize(sp, row[1] + " " + row[2]) + [sep] for row in rows]
    with open(os.path.join(out_dir, "albert-spm-expected.json"), "w") as f:
        json.dump({"source": "ag_news/test.csv rows 0-199, text = title + ' ' + description", "input_ids": cases}, f, separators=(",", ":"))


if __name__ == "__main__":
    main(sys.argv[1] if len(sys.argv) > 1 else os.path.join(HERE, "..", "test", "fixtures", "hub"))
