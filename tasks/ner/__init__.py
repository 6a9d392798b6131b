"""Offline Arabic NER: data reading, span scoring and shared paths.

The model is a linear-chain CRF (python-crfsuite) trained on ANERcorp by
``python -m tasks.ner.train``; tagging lives in :mod:`tasks.entities`.
"""
from __future__ import annotations

from pathlib import Path
from typing import Iterable, Sequence

REPO = Path(__file__).resolve().parents[2]
MODEL_DIR = Path(__file__).resolve().parents[1] / "data" / "ner"
PASS1_NAME = "pass1.crfsuite"  # sentence-level CRF
PASS2_NAME = "pass2.crfsuite"  # + document features from pass 1
PASS2_SHORT_NAME = "pass2short.crfsuite"  # pass 2 for short documents: trained on each sentence as its own document
META_PATH = MODEL_DIR / "model.json"
GAZETTEER_PATH = MODEL_DIR / "gazetteer.json"
NAMES_PATH = MODEL_DIR / "names.json"
LEXICON_NAME = "lexicon.json"  # tasks.ner.features.Lexicon learned from the training data
NAME_MODEL_NAME = "namemodel.json"  # tasks.ner.names.NameModel
ATTRIBUTES_NAME = "attributes.txt"  # the feature names the CRFs have weights for (a listing; not read to tag)
PLACES_NAME = "places.json"  # tasks.ner.places: known place names, applied after the CRF

# Where the corpus is looked for, in order (the copy in the repo first).
CORPUS_DIRS = (REPO / "data" / "anercorp", REPO.parent / "shared" / "data" / "anercorp")
TYPES = ("PERS", "LOC", "ORG", "MISC")
MAIN_TYPES = ("PERS", "LOC", "ORG")


def crf_paths(model_dir: Path) -> list[Path]:
    """A model's CRF files in pass order: pass 1, pass 2 and, in models built
    with it, pass 2 for short documents."""
    d = Path(model_dir)
    return [d / PASS1_NAME, d / PASS2_NAME] + ([d / PASS2_SHORT_NAME] if (d / PASS2_SHORT_NAME).is_file() else [])


def find_corpus(explicit: str | Path | None = None) -> Path | None:
    """The ANERcorp directory holding train.txt, or None."""
    candidates = [Path(explicit)] if explicit else list(CORPUS_DIRS)
    for d in candidates:
        if (d / "train.txt").is_file():
            return d
    return None


def read_conll(path: Path) -> list[tuple[list[str], list[str]]]:
    """Sentences of (tokens, BIO tags) from a "token TAG" file; blank lines
    end sentences. Tokens made only of white space are dropped (they cannot
    exist in space-joined text)."""
    sents: list[tuple[list[str], list[str]]] = []
    toks: list[str] = []
    tags: list[str] = []
    for line in Path(path).read_text(encoding="utf-8").splitlines():
        parts = line.rsplit(None, 1)
        if len(parts) < 2:
            if toks:
                sents.append((toks, tags))
                toks, tags = [], []
            continue
        tok, tag = parts[0].strip(), parts[1]
        if not tok:
            continue
        toks.append(tok)
        tags.append(tag if tag[:2] in ("B-", "I-") and tag[2:] in TYPES else "O")
    if toks:
        sents.append((toks, tags))
    return sents


def split_dev(sents: Sequence, dev_fraction: float = 0.1) -> tuple[list, list]:
    """Train/dev split: the last ``dev_fraction`` of sentences, contiguous
    (the official ANERcorp test set is likewise the last part of the corpus)."""
    cut = int(round(len(sents) * (1 - dev_fraction)))
    return list(sents[:cut]), list(sents[cut:])


def spans(tags: Sequence[str]) -> set[tuple[int, int, str]]:
    """(start, end, type) token spans of a BIO sequence, conlleval-style:
    an I- that does not continue an entity of its type starts one."""
    out: set[tuple[int, int, str]] = set()
    start, typ = None, None
    for i, tag in enumerate(list(tags) + ["O"]):
        if tag.startswith("I-") and typ == tag[2:]:
            continue
        if typ is not None:
            out.add((start, i, typ))
            start, typ = None, None
        if tag[:2] in ("B-", "I-"):
            start, typ = i, tag[2:]
    return out


def score(gold: Iterable[Sequence[str]], pred: Iterable[Sequence[str]]) -> dict:
    """Entity-level exact-span P/R/F1 of BIO tag sequences (see :func:`score_spans`)."""
    return score_spans((spans(g) for g in gold), (spans(p) for p in pred))


def as_document(sents: Sequence[tuple[Sequence[str], Sequence[str]]]) -> tuple[str, set[tuple[int, int, str]]]:
    """Sentences as text (tokens joined by spaces, one sentence per line) and
    their gold entities as (start, end, type) character spans: how the
    held-out evaluation feeds ANERcorp to the pipeline."""
    lines, gold, pos = [], set(), 0
    for tokens, tags in sents:
        starts = []
        for t in tokens:
            starts.append(pos)
            pos += len(t) + 1
        gold |= {(starts[s], starts[e - 1] + len(tokens[e - 1]), typ) for s, e, typ in spans(tags)}
        lines.append(" ".join(tokens))
    return "\n".join(lines), gold


def score_spans(gold: Iterable[set], pred: Iterable[set]) -> dict:
    """Entity-level exact-span P/R/F1 per type, over PERS/LOC/ORG ("overall")
    and over all four types ("overall_with_misc"); spans are (start, end, type)."""
    counts = {t: [0, 0, 0] for t in TYPES}  # tp, n_pred, n_gold
    for gs, ps in zip(gold, pred):
        for s in ps:
            counts[s[2]][1] += 1
        for s in gs:
            counts[s[2]][2] += 1
        for s in gs & ps:
            counts[s[2]][0] += 1

    def prf(tp: int, npred: int, ngold: int) -> dict:
        p = tp / npred if npred else 0.0
        r = tp / ngold if ngold else 0.0
        f = 2 * p * r / (p + r) if p + r else 0.0
        return {"precision": round(p, 4), "recall": round(r, 4), "f1": round(f, 4), "support": ngold}

    out = {t: prf(*counts[t]) for t in TYPES}
    for name, types in (("overall", MAIN_TYPES), ("overall_with_misc", TYPES)):
        out[name] = prf(*(sum(counts[t][k] for t in types) for k in range(3)))
    return out
