"""Widget cue phrases (data in ``tasks/data/cues/*.txt``) and stopword lists.

Both are loaded once per process and cached. See ``tasks/data/cues/README.md``
for the cue file format.
"""
from __future__ import annotations

import os
from dataclasses import dataclass, field
from functools import lru_cache
from pathlib import Path

from tasks.normalize import line_key

CUE_DIR = Path(__file__).parent / "data" / "cues"

# cue reasons that open a section after them (see README)
SECTION_REASONS = {"related", "readalso"}
TAIL_REASONS = {"comments"}

NEUTRAL = "0"  # digits fold to "0" in line keys; they never decide alone


@dataclass
class CueSet:
    # first token -> list of (phrase tokens, reason), longest first
    phrases: dict[str, list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)
    # lead-in phrases (prefix match), by first token, longest first
    prefixes: dict[str, list[tuple[tuple[str, ...], str]]] = field(default_factory=dict)
    count: int = 0

    def add(self, reason: str, phrase: str) -> None:
        lead = phrase.endswith(" *") or phrase == "*"
        phrase = phrase[:-2] if phrase.endswith(" *") else phrase
        if phrase.strip() == "©":
            toks: tuple[str, ...] = ("©",)
        else:
            toks = tuple(line_key(phrase).split())
        if not toks:
            return
        self.count += 1
        if lead:
            self.prefixes.setdefault(toks[0], []).append((toks, reason))
        else:
            self.phrases.setdefault(toks[0], []).append((toks, reason))

    def finish(self) -> "CueSet":
        for lst in (*self.phrases.values(), *self.prefixes.values()):
            lst.sort(key=lambda p: -len(p[0]))
        return self

    def match(self, tokens: list[str], raw: str = "") -> tuple[str | None, float]:
        """Return (reason, coverage) for a line given its folded tokens.

        ``reason`` is the reason of the cue covering most tokens (None when no
        cue matched); coverage is the share of tokens covered (digits and
        one-letter tokens count as covered: they carry no content).
        """
        if not tokens and not raw.strip().startswith("©"):
            return None, 0.0
        stripped = raw.lstrip(" \t-–—ـ|•·*>»")
        if stripped.startswith("©"):
            return "copyright", 1.0
        if tokens and len(tokens) <= 20:
            for toks, reason in self.prefixes.get(tokens[0], ()):
                if tuple(tokens[: len(toks)]) == toks:
                    return reason, 1.0
        phrases = self.phrases
        if not any(t in phrases for t in tokens):  # most lines: no cue starts anywhere
            return None, 0.0
        covered = [t == NEUTRAL or (len(t) == 1 and not t.isalpha()) for t in tokens]
        weight: dict[str, int] = {}
        i = 0
        n = len(tokens)
        while i < n:
            best = None
            for toks, reason in phrases.get(tokens[i], ()):
                if tuple(tokens[i: i + len(toks)]) == toks:
                    best = (toks, reason)
                    break
            if best is None:
                i += 1
                continue
            k = len(best[0])
            for j in range(i, i + k):
                covered[j] = True
            weight[best[1]] = weight.get(best[1], 0) + k
            i += k
        if not weight:
            return None, 0.0
        reason = max(sorted(weight), key=lambda r: weight[r])
        return reason, sum(covered) / n


@lru_cache(maxsize=1)
def load_cues(directory: str | None = None) -> CueSet:
    """Load every ``*.txt`` cue file (all languages: widgets mix languages)."""
    cues = CueSet()
    d = Path(directory) if directory else CUE_DIR
    for path in sorted(d.glob("*.txt")):
        for line in path.read_text(encoding="utf-8").splitlines():
            if not line.strip() or line.lstrip().startswith("#"):
                continue
            reason, _, phrase = line.partition("\t")
            if phrase.strip():
                cues.add(reason.strip(), phrase.strip())
    return cues.finish()


@lru_cache(maxsize=1)
def stoplists() -> dict[str, frozenset[str]]:
    """jusText's stopword lists (shipped with trafilatura's dependency)."""
    import justext  # light import: the stoplists are plain files

    d = Path(os.path.dirname(justext.__file__)) / "stoplists"
    out = {}
    for path in sorted(d.glob("*.txt")):
        words = frozenset(w.strip().lower() for w in path.read_text(encoding="utf-8").split() if w.strip())
        out[path.stem] = words
    return out


@lru_cache(maxsize=1)
def _stop_index() -> dict[str, tuple[str, ...]]:
    idx: dict[str, list[str]] = {}
    for lang, words in stoplists().items():
        for w in words:
            idx.setdefault(w, []).append(lang)
    return {w: tuple(v) for w, v in idx.items()}


def guess_stoplist(tokens: list[str]) -> frozenset[str]:
    """The stoplist that covers most of ``tokens`` (lower-cased words)."""
    idx = _stop_index()
    counts: dict[str, int] = {}
    for t in tokens:
        for lang in idx.get(t, ()):
            counts[lang] = counts.get(lang, 0) + 1
    if not counts:
        return stoplists().get("English", frozenset())
    best = max(sorted(counts), key=lambda k: counts[k])
    return stoplists()[best]
