"""The two-pass CRF tagger (loading and tagging; training is in train.py).

Pass 1 tags each sentence from its own features. Pass 2 sees the same
features plus :func:`tasks.ner.features.doc_features` of the pass-1 tags of
the whole document, so a name tagged confidently once helps its other
mentions. A short document (up to :data:`SHORT_DOCUMENT` sentences) has few
other mentions, and pass 2 trained on documents of any length then did worse
than pass 1: it gets a pass 2 trained on each sentence as its own document
(``pass2short.crfsuite``, when the model directory has it). Last, known
place names (:mod:`tasks.ner.places`, when the model directory has
``places.json``): a PERS span that is exactly one, an
ORG span or an untagged run that is exactly a CLDR place, becomes LOC;
then the rules of :mod:`tasks.ner.rules` (known organisations, agency, paper, titled, party, bank and palace names,
national bodies, joined places, name tails, then sports clubs' names (:mod:`tasks.ner.clubs`, when the
model directory has ``clubs.json``), the multi-word names training tagged (:mod:`tasks.ner.phrases`, when
the model directory has ``phrases.json``), and-joined names, name connectors).

The passes are trained with python-crfsuite; tagging reads their weights
and runs in numpy (:mod:`tasks.ner.crf`), with crfsuite's tags and marginals
at about 1.3x the speed of the whole step (each distinct token's features
are built and looked up once, not per sentence and per pass).
"""
from __future__ import annotations

import gc
import json
from contextlib import contextmanager
from pathlib import Path
from typing import Sequence

import numpy as np
import pycrfsuite

from tasks.ner import GAZETTEER_PATH, LEXICON_NAME, MODEL_DIR, NAME_MODEL_NAME, PLACES_NAME, crf_paths
from tasks.ner import morph, rules
from tasks.ner.clubs import Clubs, club_rule
from tasks.ner.crf import CRFWeights, marginals, viterbi
from tasks.ner.features import DOC_WINDOW, FeatureExtractor, Gazetteer, Lexicon, doc_features
from tasks.ner.names import NameModel
from tasks.ner.phrases import KnownPhrases, known_phrases
from tasks.ner.persons import PersonNames, model_gazetteer
from tasks.ner.places import Places


# Documents of up to this many sentences get pass 2 for short documents. Out of fold (every ANERcorp train.txt
# sentence tagged by a model that did not see it, whole step), PERS/LOC/ORG F1 in documents of 1, 2, 3 and 5
# sentences: 0.7664, 0.7726, 0.7765, 0.7808 with the pass 2 for any length; 0.7748, 0.7770, 0.7773, 0.7783 with
# the one for short documents.
SHORT_DOCUMENT = 3
# A long document's CRF passes run over this many sentences at a time, each chunk with the DOC_WINDOW sentences
# either side that its pass-2 document features read, so the tags are the same as in one go while the memory
# stays that of a chunk (the whole of ANERcorp's train.txt, 125k tokens, as one document: +610 MB in one go)
CHUNK_SENTENCES = 400


class NERModel:
    CACHE_SIZE = 50_000  # tokens whose score vectors are kept (about 1 KB each)

    def __init__(self, model_dir: Path = MODEL_DIR, gazetteer: Gazetteer | None = None):
        d = Path(model_dir)
        persons = PersonNames.load(d)  # absent in models built before it
        if gazetteer is None:
            gazetteer = model_gazetteer(json.loads((d / GAZETTEER_PATH.name).read_text(encoding="utf-8")), persons)
        lexicon = Lexicon.from_json(json.loads((d / LEXICON_NAME).read_text(encoding="utf-8")))
        names = NameModel.from_json(json.loads((d / NAME_MODEL_NAME).read_text(encoding="utf-8")))
        # passes 0 and 1, and 2 for short documents (absent in models built before it)
        passes = crf_paths(d)
        self.short_pass = len(passes) == 3
        self.weights = CRFWeights.from_crfsuite(passes)
        # the numpy tagging looks features up in the weights; crfsuite's taggers get only those features
        self.features = FeatureExtractor(gazetteer, lexicon, set(self.weights.attr), names, persons)
        places = d / PLACES_NAME
        self.places = Places.from_json(json.loads(places.read_text(encoding="utf-8")) if places.is_file() else [])
        self.demonyms = rules.Demonyms(self.places.keys)
        self.organisations = rules.organisations()
        self.clubs = Clubs.load(d)
        self.phrases = KnownPhrases.load(d)
        self.lexicon = lexicon
        morph.lexicon()  # the Buckwalter lexicon the features read (0.15 s), loaded with the model
        self._pad = {o: self.weights.sums([[f"{o}pad"]])[0] for o in FeatureExtractor.WINDOW}
        self._cache: dict[str, tuple[np.ndarray, str]] = {}
        # crfsuite's own taggers: the reference the numpy tagging is tested against, and tasks.ner.neural
        taggers = [pycrfsuite.Tagger() for _ in passes]
        for tagger, path in zip(taggers, passes):
            tagger.open(str(path))
        self.pass1, self.pass2, *short = taggers
        self.pass2_short = short[0] if short else None

    def tag(self, sentences: Sequence[Sequence[str]], confidence: bool = False):
        """BIO tags per sentence (with per-token confidences if asked);
        the sentences are one document (pass 2 reads across them)."""
        with _no_cyclic_gc():
            return self._tag(sentences, confidence)

    def _tag(self, sentences: Sequence[Sequence[str]], confidence: bool):
        sentences = [list(s) for s in sentences]
        # marginals always: a rule reads them (unseen_name_tails), so tags do not depend on ``confidence``
        _, crf_tags, marg, keys = self._crf(sentences, True)
        index = self.weights.index
        out = []
        for k, toks in enumerate(sentences):
            tags = self.places.retype(toks, list(crf_tags[k]), self.lexicon)
            rules.known_organisations(toks, tags, self.organisations, keys[k])
            rules.known_organisation_ends(tags, self.organisations, keys[k], self.lexicon)
            rules.media_names_are_org(toks, tags)
            heads = rules.Heads(toks)
            rules.institution_names(toks, tags, self.lexicon, heads)
            rules.paper_names(toks, tags, self.lexicon, heads)
            rules.titled_names(toks, tags, self.lexicon, heads)
            rules.party_names(toks, tags, heads)
            rules.bank_names(toks, tags, heads)
            rules.agency_names(toks, tags, heads)
            rules.palace_names(toks, tags, self.lexicon, self.features.names, heads)
            rules.national_bodies(toks, tags, self.demonyms)
            rules.peninsulas(toks, tags, self.demonyms, heads)
            rules.split_joined_places(toks, tags, self.places)
            rules.research_centres(toks, tags, self.places, self.demonyms, heads)
            rules.months_are_not_names(toks, tags, heads)
            rules.unseen_name_tails(toks, tags, marg[k], index, self.lexicon)
            if self.clubs:
                club_rule(toks, tags, keys[k], self.clubs, self.places, self.lexicon)
            known_phrases(toks, tags, self.phrases, keys[k], self.places)
            if confidence:
                # the CRF's marginal of the tag it gave (a span retyped by a rule keeps it); a span the rules
                # found where the CRF saw none gets the CRF's (low) marginal of the rule's tag
                p = marg[k]
                conf = [1.0 if t == "O" else float(p[i, index[t if c == "O" else c]])
                        for i, (c, t) in enumerate(zip(crf_tags[k], tags))]
                out.append((tags, conf))
            else:
                out.append(tags)
        tags = [o[0] for o in out] if confidence else out
        rules.unseen_name_heads(sentences, tags, self.lexicon, [o[1] for o in out] if confidence else None, keys)
        rules.split_joined_persons(sentences, tags)
        rules.extend_names_over_connectors(sentences, tags, [o[1] for o in out] if confidence else None)
        return out

    def crf(self, sentences: Sequence[Sequence[str]], marginals_too: bool = False):
        """The two CRF passes over one document, before any rule: pass-1
        tags, pass-2 tags (from the short-document pass 2 for a document of up
        to :data:`SHORT_DOCUMENT` sentences), and (if asked) pass 2's marginals per sentence
        (an array of tokens x :attr:`CRFWeights.labels`)."""
        return self._crf(sentences, marginals_too)[:3]

    def _crf(self, sentences: Sequence[Sequence[str]], marginals_too: bool):
        """:meth:`crf`, and the tokens' clitic-free keys per sentence
        (:func:`tasks.ner.features.gaz_key`, as the features use them);
        a long document in chunks of :data:`CHUNK_SENTENCES`."""
        n = len(sentences)
        short = self.short_pass and n <= SHORT_DOCUMENT
        if n <= CHUNK_SENTENCES + 2 * DOC_WINDOW:
            return self._crf_chunk(sentences, marginals_too, short)
        out: tuple[list, list, list | None, list] = ([], [], [] if marginals_too else None, [])
        for a in range(0, n, CHUNK_SENTENCES):
            b = min(n, a + CHUNK_SENTENCES)
            lo, hi = max(0, a - DOC_WINDOW), min(n, b + DOC_WINDOW)
            got = self._crf_chunk(sentences[lo:hi], marginals_too, short)
            for acc, part in zip(out, got):
                if acc is not None:
                    acc.extend(part[a - lo:b - lo])
        return out

    def _crf_chunk(self, sentences: Sequence[Sequence[str]], marginals_too: bool, short: bool):
        """:meth:`_crf` over sentences at once (``short``: use the pass 2 for short documents)."""
        lengths = np.array([len(s) for s in sentences], dtype=np.intp)
        flat = [t for s in sentences for t in s]
        if not flat:
            empty = [[] for _ in sentences]
            return empty, empty, ([np.zeros((0, len(self.weights.labels)))] * len(sentences) if marginals_too
                                  else None), empty
        w = self.weights
        labels = w.labels
        vecs, keys = self._token_vectors(flat)
        n = len(flat)
        starts = np.cumsum(lengths) - lengths
        bounds = list(zip(starts.tolist(), lengths.tolist()))
        pos = np.arange(n) - np.repeat(starts, lengths)
        slen = np.repeat(lengths, lengths)
        # own features, then what each neighbour lends (a pad feature past the sentence's edges)
        state = vecs[:, 0].copy()
        idx = np.arange(n)
        for part, offset, inside in ((1, -2, pos >= 2), (2, -1, pos >= 1), (3, 1, pos < slen - 1),
                                     (4, 2, pos < slen - 2)):
            state[inside] += vecs[idx[inside] + offset, part]
            state[~inside] += self._pad[offset]
        key_sents = [keys[a:a + m] for a, m in bounds]
        pairs: list[list[str]] = [[] for _ in range(n)]
        for ks, (a, m) in zip(key_sents, bounds):
            self.features.add_pair_features(ks, pairs[a:a + m])
        state += w.sums(pairs)
        plan = _grids(lengths, starts)
        best, _ = _decode(plan, state[:, 0], w.T[0], False)
        best = best.tolist()
        first = [[labels[b] for b in best[a:a + m]] for a, m in bounds]
        extra = [f for sent in doc_features(key_sents, first) for f in sent]
        p2 = 2 if short else 1
        best, marg = _decode(plan, state[:, p2] + w.sums(extra, p2), w.T[p2], marginals_too)
        best = best.tolist()
        second = [[labels[b] for b in best[a:a + m]] for a, m in bounds]
        if not marginals_too:
            return first, second, None, key_sents
        return first, second, [marg[a:a + m] for a, m in bounds], key_sents

    def _token_vectors(self, flat: Sequence[str]) -> tuple[np.ndarray, list[str]]:
        """Per token (tokens, 5, passes, labels): the summed weights of its own
        features and of the features it lends the tokens at -2, -1, +1, +2;
        and its clitic-free key. Built once per distinct token, for all of a
        document's new tokens in one batch."""
        cache = self._cache
        entries = {t: cache.get(t) for t in flat}
        new = [t for t, e in entries.items() if e is None]
        if new:
            fx = self.features
            fx.prefetch([new])  # the name model scores the new words in one batch
            groups: list[list[str]] = []
            keys = []
            for t in new:
                own, ctx, key = fx.build(t, filtered=False)
                groups += (own, ctx[-2], ctx[-1], ctx[1], ctx[2])
                keys.append(key)
            sums = self.weights.sums(groups).reshape(len(new), 5, *self.weights.W.shape[1:])
            if len(cache) + len(new) > self.CACHE_SIZE:
                cache.clear()
            for t, v, key in zip(new, sums, keys):
                entries[t] = cache[t] = (v, key)
        got = [entries[t] for t in flat]
        return np.stack([g[0] for g in got]), [g[1] for g in got]


SHORT = 128  # sentences up to this many tokens share one padded grid; each longer one gets its own


def _grids(lengths: np.ndarray, starts: np.ndarray) -> list[tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]]:
    """How a document's sentences are laid out for Viterbi and
    forward-backward: the short ones in one grid padded to the longest of
    them, and each long one alone (a 1,900-token line in a grid with 400
    short sentences would pad every one of them to its length). Per grid:
    its sentences' lengths, and for each of its tokens the index in the
    document's flat token list, the row and the position."""
    long = lengths > SHORT
    groups = ([np.flatnonzero(~long)] if (~long).any() else []) + [np.array([k]) for k in np.flatnonzero(long)]
    plan = []
    for ks in groups:
        lens = lengths[ks]
        row = np.repeat(np.arange(len(ks)), lens)
        pos = np.arange(int(lens.sum())) - np.repeat(np.cumsum(lens) - lens, lens)
        plan.append((lens, np.repeat(starts[ks], lens) + pos, row, pos))
    return plan


def _decode(plan, scores: np.ndarray, T: np.ndarray, marginals_too: bool) -> tuple[np.ndarray, np.ndarray | None]:
    """Best label per token (flat) and, if asked, the marginals (tokens x
    labels), from the flat state ``scores`` (tokens x labels), grid by grid."""
    best = np.empty(len(scores), dtype=np.intp)
    marg = np.empty_like(scores) if marginals_too else None
    for lens, flat, row, pos in plan:
        grid = np.zeros((len(lens), int(lens.max()), scores.shape[1]))
        grid[row, pos] = scores[flat]
        best[flat] = viterbi(grid, lens, T)[row, pos]
        if marg is not None:
            marg[flat] = marginals(grid, lens, T)[row, pos]
    return best, marg


@contextmanager
def _no_cyclic_gc():
    """Tagging allocates tens of thousands of feature strings and lists that
    hold no reference cycles (reference counting frees them); left on, the
    cyclic collector keeps re-scanning them and the caches: about 20% of
    tagging time with crfsuite's taggers (bench: 19.8k -> 24k tokens per
    CPU-second on one core), 5-10% with the numpy tagging (24.6k -> 27k).
    Restored afterwards only if it was on, so nesting/threads cannot leave
    it off."""
    was = gc.isenabled()
    gc.disable()
    try:
        yield
    finally:
        if was:
            gc.enable()
