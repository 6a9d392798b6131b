"""A small BiLSTM-CRF tagger over the CRF's signals (torch, CPU): an
experiment, not the shipped model. ``python -m tasks.ner.neural`` measures it
on the held-out dev split next to the two-pass CRF; the figures and why it is
not shipped are in the README's entities notes.

Per token the network reads:

* a word embedding of the clitic-free key, learned from scratch (no
  pretrained vectors are available offline); rare words are replaced by
  ``<unk>`` during training (word dropout, probability ``a / (a + count)``),
  so the network learns what to do with words it has never seen;
* a character CNN over the normalised word (clitics و ف ب ل ك ال and
  affixes are in its first and last letters);
* the dense signals the CRF has (:class:`tasks.ner.features.FeatureExtractor`
  features whose name starts with one of :data:`DENSE_PREFIXES`: lexicon
  marks, name-model marks, gazetteer marks, trigger words, shape), jackknifed
  in training exactly as for the CRF; and, when ``stack`` is on, the first-pass
  CRF's tags and the document features (:func:`tasks.ner.features.doc_features`)
  that the second CRF pass reads, also jackknifed.

A BiLSTM and a linear-chain CRF layer (Viterbi decoding, BIO-constrained)
produce the tags. Training is deterministic for a given seed on one thread.
"""
from __future__ import annotations

import math
import random
from collections import Counter
from typing import Sequence

import numpy as np
import torch
from torch import nn

LABELS = ("O", "B-PERS", "I-PERS", "B-LOC", "I-LOC", "B-ORG", "I-ORG", "B-MISC", "I-MISC")
L2I = {t: i for i, t in enumerate(LABELS)}
DENSE_PREFIXES = ("lx=", "nc=", "gw=", "gz=", "1gz=", "-1gz=", "-1tg=", "-2tg=", "1tg=", "2tg=", "sh=", "al=",
                  "pre=", "len=")
STACK_PREFIXES = ("p1=", "p1-1=", "p1+1=", "d=", "d2=")  # doc_features of the first-pass tags
MAX_CHARS = 16  # longer words keep their first and last 8 letters
PAD, UNK = 0, 1


def allowed_transitions() -> np.ndarray:
    """BIO: I-X only after B-X or I-X."""
    ok = np.ones((len(LABELS), len(LABELS)), dtype=bool)
    for j, t in enumerate(LABELS):
        if t.startswith("I-"):
            for i, s in enumerate(LABELS):
                ok[i, j] = s[2:] == t[2:]
    return ok


def repair(tags: Sequence[str]) -> list[str]:
    """BIO-valid tags with the same spans (an I-X that starts an entity
    becomes B-X, as :func:`tasks.ner.spans` reads it): ANERcorp has a few."""
    out, prev = [], "O"
    for t in tags:
        if t.startswith("I-") and prev[2:] != t[2:]:
            t = "B-" + t[2:]
        out.append(t)
        prev = t
    return out


def allowed_starts() -> np.ndarray:
    return np.array([not t.startswith("I-") for t in LABELS])


class Vocab:
    """Word keys, characters and dense feature names, from the training data."""

    def __init__(self, words: list[str], chars: list[str], dense: list[str], counts: list[int]):
        self.words = words
        self.chars = chars
        self.dense = dense
        self.counts = counts  # training count per word id (for word dropout)
        self.w2i = {w: i for i, w in enumerate(words)}
        self.c2i = {c: i for i, c in enumerate(chars)}
        self.d2i = {d: i for i, d in enumerate(dense)}
        self._chars: dict[str, tuple[int, ...]] = {}

    @classmethod
    def build(cls, keys: Sequence[Sequence[str]], norms: Sequence[Sequence[str]], feats, min_dense: int = 2):
        wc = Counter(k for ks in keys for k in ks)
        cc = Counter(c for ns in norms for n in ns for c in n)
        dc = Counter(f for sent in feats for tok in sent for f in tok)
        words = ["<pad>", "<unk>"] + sorted(wc)
        chars = ["<pad>", "<unk>"] + sorted(cc)
        dense = ["<pad>"] + sorted(d for d, n in dc.items() if n >= min_dense)
        return cls(words, chars, dense, [0, 0] + [wc[w] for w in words[2:]])

    def padded_chars(self, norm: str) -> tuple[int, ...]:
        """Character ids padded to MAX_CHARS, then the word's length (the
        last item; sliced off with the padding the batch does not need)."""
        hit = self._chars.get(norm)
        if hit is None:
            w = norm if len(norm) <= MAX_CHARS else norm[:MAX_CHARS // 2] + norm[-MAX_CHARS // 2:]
            get = self.c2i.get
            ids = [get(c, UNK) for c in w] or [UNK]
            hit = tuple(ids + [PAD] * (MAX_CHARS - len(ids)) + [len(ids)])
            if len(self._chars) >= 100_000:
                self._chars.clear()
            self._chars[norm] = hit
        return hit


class Tagger(nn.Module):
    def __init__(self, n_words: int, n_chars: int, n_dense: int, word_dim: int = 64, char_dim: int = 24,
                 char_filters: int = 64, dense_dim: int = 32, hidden: int = 64, dropout: float = 0.4):
        super().__init__()
        self.word = nn.Embedding(n_words, word_dim, padding_idx=PAD)
        self.char = nn.Embedding(n_chars, char_dim, padding_idx=PAD)
        self.conv = nn.Conv1d(char_dim, char_filters, kernel_size=3, padding=1)
        self.dense = nn.EmbeddingBag(n_dense, dense_dim, mode="sum", padding_idx=PAD)
        self.drop = nn.Dropout(dropout)
        self.lstm = nn.LSTM(word_dim + char_filters + dense_dim, hidden, batch_first=True, bidirectional=True)
        self.out = nn.Linear(2 * hidden, len(LABELS))
        n = len(LABELS)
        self.trans = nn.Parameter(torch.zeros(n, n))
        self.start = nn.Parameter(torch.zeros(n))
        self.end = nn.Parameter(torch.zeros(n))
        big = -1e4
        self.register_buffer("trans_mask", torch.tensor(np.where(allowed_transitions(), 0.0, big), dtype=torch.float32))
        self.register_buffer("start_mask", torch.tensor(np.where(allowed_starts(), 0.0, big), dtype=torch.float32))

    def emissions(self, words, chars, dense, dense_offsets, lengths):
        """words (B,T); chars (B*T... as (N, C) for the N real tokens); dense: flat indices + offsets per real token."""
        b, t = words.shape
        we = self.word(words)
        ce = self.char(chars).transpose(1, 2)  # N, dim, C
        ce = torch.relu(self.conv(ce)).max(dim=2).values  # N, filters
        de = self.dense(dense, dense_offsets)  # N, dense_dim
        mask = words != PAD
        tok = torch.zeros(b, t, ce.shape[1] + de.shape[1])
        tok[mask] = torch.cat([ce, de], dim=1)
        x = self.drop(torch.cat([we, tok], dim=2))
        packed = nn.utils.rnn.pack_padded_sequence(x, lengths, batch_first=True, enforce_sorted=False)
        h, _ = self.lstm(packed)
        h, _ = nn.utils.rnn.pad_packed_sequence(h, batch_first=True, total_length=t)
        return self.out(self.drop(h)), mask

    def _trans(self):
        return self.trans + self.trans_mask

    def _forward(self, em, mask) -> list:
        """Forward algorithm: per position, the log score of all label paths
        ending there in each label (held at a sentence's last token past its end)."""
        trans = self._trans()
        alphas = [self.start + self.start_mask + em[:, 0]]
        for i in range(1, em.shape[1]):
            nxt = torch.logsumexp(alphas[-1].unsqueeze(2) + trans + em[:, i].unsqueeze(1), dim=1)
            alphas.append(torch.where(mask[:, i:i + 1], nxt, alphas[-1]))
        return alphas

    def loss(self, em, mask, gold):
        trans = self._trans()
        start = self.start + self.start_mask
        b, t, n = em.shape
        logz = torch.logsumexp(self._forward(em, mask)[-1] + self.end, dim=1)
        # gold path score
        ar = torch.arange(b)
        score = start[gold[:, 0]] + em[ar, 0, gold[:, 0]]
        for i in range(1, t):
            s = trans[gold[:, i - 1], gold[:, i]] + em[ar, i, gold[:, i]]
            score = score + s * mask[:, i]
        last = gold[ar, mask.sum(1) - 1]
        score = score + self.end[last]
        return (logz - score).sum() / mask.sum()

    def marginals(self, em, mask):
        """Per-token label probabilities under the CRF (forward-backward)."""
        trans = self._trans()
        b, t, n = em.shape
        alphas = self._forward(em, mask)
        lengths = mask.sum(1)
        beta = self.end.expand(b, n)
        betas = [None] * t
        for i in range(t - 1, -1, -1):
            # past a sentence's end beta stays the end score; at its last token too
            betas[i] = beta
            if i:
                prev = torch.logsumexp(trans + (em[:, i] + beta).unsqueeze(1), dim=2)
                beta = torch.where((i < lengths).unsqueeze(1), prev, beta)
        alpha = torch.stack(alphas, 1)
        logp = alpha + torch.stack(betas, 1)
        return (logp - logp.logsumexp(-1, keepdim=True)).exp()

    def decode(self, em, mask):
        """Best BIO-valid label ids per sentence, and each chosen label's
        probability under the emission softmax (a confidence)."""
        probs = em.softmax(-1)
        trans, start, end = self._trans(), self.start + self.start_mask, self.end
        b, t, n = em.shape
        score = start + em[:, 0]
        back = []
        for i in range(1, t):
            cand = score.unsqueeze(2) + trans  # B, from, to
            best, idx = cand.max(dim=1)
            nxt = best + em[:, i]
            m = mask[:, i:i + 1]
            score = torch.where(m, nxt, score)
            back.append(torch.where(m, idx, torch.arange(n).expand(b, n)))
        score = score + end
        cur = score.argmax(1)
        path = [cur]
        for idx in reversed(back):
            cur = idx.gather(1, cur.unsqueeze(1)).squeeze(1)
            path.append(cur)
        path = torch.stack(path[::-1], dim=1)
        conf = probs.gather(2, path.unsqueeze(2)).squeeze(2)
        return path, conf


def batch_tensors(vocab: Vocab, sents, word_drop: float = 0.0, rng: random.Random | None = None):
    """sents: list of (keys, norms, dense feature lists[, gold tags])."""
    lengths = [len(s[0]) for s in sents]
    t = max(lengths)
    w2i, d2i, counts, chars_of = vocab.w2i, vocab.d2i, vocab.counts, vocab.padded_chars
    words: list[int] = []
    chars: list[tuple[int, ...]] = []
    dense: list[int] = []
    offsets: list[int] = []
    gold: list[int] = []
    for s, n in zip(sents, lengths):
        ids = [w2i.get(k, UNK) for k in s[0]]
        if word_drop and rng is not None:
            ids = [UNK if rng.random() < word_drop / (word_drop + counts[i]) else i for i in ids]
        words += ids
        words += [PAD] * (t - n)
        chars += map(chars_of, s[1])
        for fs in s[2]:
            offsets.append(len(dense))
            dense += [j for j in map(d2i.get, fs) if j]
        if len(s) > 3:
            gold += [L2I[g] for g in repair(s[3])]
            gold += [0] * (t - n)
    width = max(3, max(c[-1] for c in chars))
    x = (torch.tensor(words).view(len(sents), t), torch.tensor(chars)[:, :width], torch.tensor(dense, dtype=torch.long),
         torch.tensor(offsets), torch.tensor(lengths))
    return x, (torch.tensor(gold).view(len(sents), t) if gold else None)


def predict(model: Tagger, vocab: Vocab, sents, batch: int = 64) -> list[tuple[list[str], list[float]]]:
    """Tags and confidences, sentences batched by length (less padding)."""
    order = sorted(range(len(sents)), key=lambda i: len(sents[i][0]))
    out: list = [None] * len(sents)
    model.eval()
    with torch.inference_mode():
        for k in range(0, len(order), batch):
            idx = [i for i in order[k:k + batch] if sents[i][0]]
            for i in order[k:k + batch]:
                if not sents[i][0]:
                    out[i] = ([], [])
            if not idx:
                continue
            x, _ = batch_tensors(vocab, [sents[i] for i in idx])
            em, mask = model.emissions(*x)
            path, conf = model.decode(em, mask)
            path, conf = path.tolist(), conf.tolist()
            for r, i in enumerate(idx):
                n = len(sents[i][0])
                out[i] = ([LABELS[j] for j in path[r][:n]], conf[r][:n])
    return out


def fit(vocab: Vocab, train, epochs: int, seed: int = 1, val=None, score_fn=None, lr: float = 2e-3,
        batch: int = 16, word_drop: float = 0.25, log=print, **model_args):
    """Train on ``train`` (list of (keys, norms, feats, gold)); with ``val``
    and ``score_fn`` (gold, predicted tag lists -> F1) report each epoch's
    validation score and keep the best epoch's weights."""
    torch.manual_seed(seed)
    rng = random.Random(seed)
    model = Tagger(len(vocab.words), len(vocab.chars), len(vocab.dense), **model_args)
    opt = torch.optim.Adam(model.parameters(), lr=lr)
    best, best_state, history = -1.0, None, []
    order = list(range(len(train)))
    for ep in range(epochs):
        model.train()
        rng.shuffle(order)
        total = 0.0
        for k in range(0, len(order), batch):
            x, gold = batch_tensors(vocab, [train[i] for i in order[k:k + batch]], word_drop, rng)
            em, mask = model.emissions(*x)
            loss = model.loss(em, mask, gold)
            opt.zero_grad()
            loss.backward()
            nn.utils.clip_grad_norm_(model.parameters(), 5.0)
            opt.step()
            total += loss.item()
        msg = f"epoch {ep + 1}: loss {total / math.ceil(len(order) / batch):.4f}"
        if val is not None and score_fn is not None:
            f1 = score_fn([s[3] for s in val], [p for p, _ in predict(model, vocab, val)])
            history.append(f1)
            msg += f" val F1 {f1:.4f}"
            if f1 > best:
                best, best_state = f1, {k: v.clone() for k, v in model.state_dict().items()}
        log(msg)
    if best_state is not None:
        model.load_state_dict(best_state)
    return model, history


# ---------------------------------------------------------------- experiment
def _viterbi(probs: np.ndarray) -> list[str]:
    """Best BIO-valid path through per-token label probabilities."""
    logp = np.log(np.clip(probs, 1e-9, 1.0))
    trans = np.where(allowed_transitions(), 0.0, -1e4)
    score = logp[0] + np.where(allowed_starts(), 0.0, -1e4)
    back = []
    for i in range(1, len(logp)):
        cand = score[:, None] + trans
        back.append(cand.argmax(0))
        score = cand.max(0) + logp[i]
    cur = int(score.argmax())
    path = [cur]
    for b in reversed(back):
        cur = int(b[cur])
        path.append(cur)
    return [LABELS[j] for j in reversed(path)]


def network_marginals(model: Tagger, vocab: Vocab, sents, batch: int = 32) -> list[np.ndarray]:
    out = []
    model.eval()
    with torch.inference_mode():
        for k in range(0, len(sents), batch):
            x, _ = batch_tensors(vocab, sents[k:k + batch])
            em, mask = model.emissions(*x)
            marg = model.marginals(em, mask)
            out.extend(marg[r, :n].numpy() for r, n in enumerate(x[4].tolist()))
    return out


def main(argv: list[str] | None = None) -> int:
    """``python -m tasks.ner.neural``: held-out dev figures of the network.

    Trains the two-pass CRF on the train split exactly as ``python -m
    tasks.ner.train`` does (in a temporary directory; the shipped model is not
    touched), keeps its jackknifed inputs, and trains the network on the
    first 90% of the train split (the last 10% picks the epoch), for each
    variant: ``plain`` (word, characters, dense CRF signals) and ``stack``
    (+ the pass-1 CRF tags and document features). Dev (never used for a
    choice) is scored for the CRF, the network, and their average
    (network marginals and pass-2 CRF marginals, weight 0.5, BIO-constrained
    Viterbi). Token-level exact spans, as ``model.json`` -> ``dev.scores``."""
    import argparse
    import json
    import tempfile
    import time
    from pathlib import Path

    import pycrfsuite

    from tasks.ner import PASS2_NAME, find_corpus, read_conll, score, split_dev
    from tasks.ner.features import doc_features, normalise, read_gazetteers
    from tasks.ner.model import NERModel
    from tasks.ner.persons import PersonNames, model_gazetteer
    from tasks.ner.train import PARAMS, print_scores, train

    ap = argparse.ArgumentParser(description=main.__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--corpus")
    ap.add_argument("--variants", default="plain,stack")
    ap.add_argument("--epochs", type=int, default=20)
    ap.add_argument("--seed", type=int, default=1)
    ap.add_argument("--hidden", type=int, default=64)
    ap.add_argument("--threads", type=int, default=1)
    ap.add_argument("--json", help="also write the figures here")
    args = ap.parse_args(argv)
    torch.set_num_threads(args.threads)
    corpus = find_corpus(args.corpus)
    if corpus is None:
        print("ANERcorp not found: pass --corpus DIR")
        return 2
    sents = read_conll(corpus / "train.txt")
    gaz_entries = read_gazetteers(corpus)
    persons = PersonNames.from_index()
    gazetteer = model_gazetteer(gaz_entries, persons)
    train_s, dev_s = split_dev(sents)
    dev_toks, dev_gold = [t for t, _ in dev_s], [g for _, g in dev_s]
    t0 = time.perf_counter()
    keep: dict = {}
    with tempfile.TemporaryDirectory() as tmp:
        train(train_s, gazetteer, Path(tmp), PARAMS, 4, gaz_entries, keep, persons=persons)
        crf = NERModel(Path(tmp), gazetteer)
        crf.features.known = None  # the network saw unfiltered features in training
        fx = crf.features
        fx.prefetch(dev_toks)
        dev_x = [fx.sentence(t) for t in dev_toks]
        dev_keys = [fx.keys(t) for t in dev_toks]
        dev_first = [crf.pass1.tag(x) for x in dev_x]
        dev_extra = doc_features(dev_keys, dev_first)
        pass2 = pycrfsuite.Tagger()
        pass2.open(str(Path(tmp) / PASS2_NAME))
        crf_tags, crf_marg = [], []
        for x, ex in zip(dev_x, dev_extra):
            pass2.set([f + list(e) for f, e in zip(x, ex)])
            crf_tags.append(pass2.tag())
            crf_marg.append(np.array([[pass2.marginal(lab, i) for lab in LABELS] for i in range(len(x))]))
    print(f"CRF trained in {time.perf_counter() - t0:.0f}s; dev, two-pass CRF:")
    results = {"crf": score(dev_gold, crf_tags)}
    print_scores(results["crf"])

    def items(keys, toks, xs, extra, gold, stack):
        out = []
        for k, t, x, ex, g in zip(keys, toks, xs, extra, gold):
            feats = [[f for f in fs if f.startswith(DENSE_PREFIXES)] + (list(e) if stack else []) for fs, e in zip(x, ex)]
            out.append((k, [normalise(w) for w in t], feats, g))
        return out

    train_toks, train_gold = [t for t, _ in train_s], [g for _, g in train_s]
    f1 = lambda g, p: score(g, p)["overall"]["f1"]  # noqa: E731
    for variant in args.variants.split(","):
        stack = variant == "stack"
        tr = items(keep["keys"], train_toks, keep["x1"], keep["extra"], train_gold, stack)
        dev = items(dev_keys, dev_toks, dev_x, dev_extra, dev_gold, stack)
        cut = int(round(len(tr) * 0.9))
        vocab = Vocab.build([s[0] for s in tr[:cut]], [s[1] for s in tr[:cut]], [s[2] for s in tr[:cut]])
        t1 = time.perf_counter()
        model, history = fit(vocab, tr[:cut], args.epochs, seed=args.seed, val=tr[cut:], score_fn=f1,
                             log=lambda m: print(f"  {variant} {m} ({time.perf_counter() - t1:.0f}s)", flush=True),
                             hidden=args.hidden)
        best = max(range(len(history)), key=history.__getitem__)
        marg = network_marginals(model, vocab, dev)
        results[variant] = score(dev_gold, [p for p, _ in predict(model, vocab, dev)])
        results[variant + "+crf"] = score(dev_gold, [_viterbi(0.5 * a + 0.5 * b) for a, b in zip(marg, crf_marg)])
        results[variant]["best_epoch"] = {"epoch": best + 1, "validation_f1": history[best]}
        for name in (variant, variant + "+crf"):
            print(f"dev, {name} (epoch {best + 1}, validation F1 {history[best]:.4f}):")
            print_scores({k: v for k, v in results[name].items() if k != "best_epoch"})
    if args.json:
        Path(args.json).write_text(json.dumps(results, indent=1) + "\n", encoding="utf-8")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
