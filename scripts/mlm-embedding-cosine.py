#!/usr/bin/env python3
"""Mean pairwise cosine of word embeddings before and after a masked-LM stage (issue 14 part 2/3).

Usage: scripts/mlm-embedding-cosine.py INIT.safetensors ADAPTED.safetensors VOCAB.txt TEXTS.csv
Groups (words split on non-alphanumerics, lowercased, that are whole tokens of VOCAB.txt):
rare (1-3 occurrences in TEXTS), frequent (>= 20), unseen (a sample of 2,000 vocabulary entries
not in TEXTS). The tied decoder gives every row a gradient, so all groups can move.
"""
import json, re, struct, sys
from collections import Counter
import numpy as np

def read(path, name='bert.embeddings.word_embeddings.weight'):
    with open(path, 'rb') as f:
        n = struct.unpack('<Q', f.read(8))[0]
        header = json.loads(f.read(n))
        key = next(k for k in header if k.endswith('embeddings.word_embeddings.weight'))
        meta = header[key]
        a, b = meta['data_offsets']
        f.seek(8 + n + a)
        return np.frombuffer(f.read(b - a), dtype=np.float32).reshape(meta['shape'])

def mean_cos(m):
    if len(m) < 2: return float('nan')
    u = m / np.linalg.norm(m, axis=1, keepdims=True)
    g = u @ u.T
    k = len(m)
    return float((g.sum() - np.trace(g)) / (k * (k - 1)))

init, adapted, vocab_file, texts = sys.argv[1:5]
vocab = {w.rstrip('\n'): i for i, w in enumerate(open(vocab_file, encoding='utf-8'))}
counts = Counter()
for line in open(texts, encoding='utf-8', errors='replace'):
    for w in re.findall(r'[a-z0-9]+', line.lower()):
        if w in vocab: counts[vocab[w]] += 1
rng = np.random.default_rng(0)
rare = [i for i, c in counts.items() if c <= 3]
frequent = [i for i, c in counts.items() if c >= 20]
unseen = [i for i in range(len(vocab)) if i not in counts and i > 999]
groups = {'rare': rng.choice(rare, min(2000, len(rare)), replace=False),
          'frequent': np.array(frequent[:2000]),
          'unseen': rng.choice(unseen, 2000, replace=False)}
E0, E1 = read(init), read(adapted)
out = {}
for g, idx in groups.items():
    out[g] = {'n': int(len(idx)), 'before': round(mean_cos(E0[idx]), 4), 'after': round(mean_cos(E1[idx]), 4)}
out['changed_rows'] = int((np.abs(E1 - E0).max(axis=1) > 0).sum())
print(json.dumps(out))
