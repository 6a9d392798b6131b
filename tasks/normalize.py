"""Arabic-aware normalisation for storage and search keys.

The clean ``text`` keeps the article's own spelling; these functions build the
*keys* used to compare, deduplicate and search (two spellings of one word give
one key). Only camel-tools' offline utilities are used (``camel_tools.utils``),
which never touch the network.

- :func:`clean_invisible` removes zero-width marks, bidi controls, BOM, soft
  hyphen and tatweel, and applies NFKC (presentation forms, full-width forms).
  It is safe for display text: letters are not changed.
- :func:`search_key` additionally folds case, diacritics, alef/hamza forms,
  alef maksura to yaa, teh marbuta to heh, Persian/Urdu look-alike letters and
  Eastern Arabic digits, strips punctuation and collapses spaces.
"""
from __future__ import annotations

import re
import unicodedata
from functools import lru_cache

__all__ = ["clean_invisible", "search_key", "line_key"]

_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2060-\u2064\u2066-\u2069\ufeff\u0640\u00ad\u061c]")
_SPACE = re.compile(r"\s+")


def _mark_ranges() -> str:
    """Combining marks (Mn/Mc/Me) of the BMP as regex class ranges: ``\\w``
    leaves them out, and they belong to the word they sit on (Thai vowels
    and tone marks, Devanagari vowel signs, the dot of Turkish İ)."""
    out, start, prev = [], None, None
    for c in range(0x300, 0x10000):
        if unicodedata.category(chr(c)) in ("Mn", "Mc", "Me"):
            if start is None:
                start = c
            elif c != prev + 1:
                out.append((start, prev))
                start = c
            prev = c
    out.append((start, prev))
    return "".join(f"\\u{a:04x}-\\u{b:04x}" for a, b in out)


_PUNCT = re.compile(r"[^\w\s" + _mark_ranges() + r"]|_", re.UNICODE)
# Letters that scraped Arabic text often carries in their Persian/Urdu form
# (keyboard or OCR variants) and digits in their Eastern forms.
_LOOKALIKE = str.maketrans({
    "\u06cc": "\u064a",  # Farsi yeh -> yaa
    "\u06d2": "\u064a",  # yeh barree -> yaa
    "\u06a9": "\u0643",  # keheh -> kaf
    "\u06c1": "\u0647",  # heh goal -> heh
    "\u06be": "\u0647",  # heh doachashmee -> heh
    "\u06c0": "\u0647",  # heh with yeh above -> heh
    **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + i): str(i) for i in range(10)},  # Extended (Persian) digits
})


@lru_cache(maxsize=1)
def _camel():
    # camel_tools.utils.* are pure offline helpers (no data download); loaded
    # lazily so importing this module stays cheap.
    from camel_tools.utils.dediac import dediac_ar
    from camel_tools.utils.normalize import (normalize_alef_ar, normalize_alef_maksura_ar,
                                             normalize_teh_marbuta_ar, normalize_unicode)
    return normalize_unicode, dediac_ar, normalize_alef_ar, normalize_alef_maksura_ar, normalize_teh_marbuta_ar


def clean_invisible(text: str) -> str:
    """NFKC plus removal of invisible marks and tatweel; spelling otherwise kept.

    NFKC splits the Thai and Lao vowel sara am (ำ, ຳ: a compatibility
    character, but the standard spelling of every word that has it) into
    nikhahit + sara aa; it is put back, so Thai text keeps its spelling and
    matches what users type."""
    if not text:
        return ""
    text = _INVISIBLE.sub("", unicodedata.normalize("NFKC", text))
    if "\u0e4d" in text or "\u0ecd" in text:
        text = text.replace("\u0e4d\u0e32", "\u0e33").replace("\u0ecd\u0eb2", "\u0eb3")
    return text


def _casefold(s: str) -> str:
    """``str.casefold``, with Turkish İ (which casefolds to i + dot above) as i."""
    return s.casefold().replace("i\u0307", "i")


def search_key(text: str) -> str:
    """A folded key for storage/search: same word, same key, whatever the spelling.

    >>> search_key("الْعَرَبِيَّةُ") == search_key("العربيه")
    True
    """
    if not text:
        return ""
    norm_unicode, dediac, alef, maksura, teh = _camel()
    s = norm_unicode(text)  # NFKC-like folding incl. Arabic presentation forms and ligatures
    s = clean_invisible(s)
    s = s.translate(_LOOKALIKE)
    s = dediac(s)
    s = alef(s)
    s = maksura(s)
    s = teh(s)
    s = _casefold(s)
    s = _PUNCT.sub(" ", s)
    return _SPACE.sub(" ", s).strip()


_DIACRITICS = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed]")
_FOLD = str.maketrans({"\u0622": "\u0627", "\u0623": "\u0627", "\u0625": "\u0627", "\u0671": "\u0627",
                       "\u0649": "\u064a", "\u0629": "\u0647"})
_DIGIT_RUN = re.compile(r"\d+")


def line_key(text: str) -> str:
    """Fast key for comparing lines (repetition inside and across documents,
    cue phrases). It is called for every line of every document, so it uses
    plain ``str.translate`` tables with the same folding as :func:`search_key`
    (NFKC, invisible marks, look-alike letters, diacritics, alef/yaa/teh
    marbuta, case, punctuation) instead of camel-tools' per-character mapper;
    digits become ``0`` so "0 تعليق" and "12 تعليق" share a key.

    Short lines (the ones that repeat: widgets, menus, credits) go through a
    bounded cache; long lines (paragraphs, nearly always unique) do not, so a
    long backfill does not fill memory with paragraphs it will never see again.
    """
    if not text:
        return ""
    if len(text) <= _CACHED_LINE_LEN:
        return _short_line_key(text)
    return _line_key(text)


_CACHED_LINE_LEN = 160


@lru_cache(maxsize=16384)
def _short_line_key(text: str) -> str:
    return _line_key(text)


def _line_key(text: str) -> str:
    s = clean_invisible(text).translate(_LOOKALIKE)
    s = _casefold(_DIACRITICS.sub("", s).translate(_FOLD))
    s = _PUNCT.sub(" ", s)
    return _DIGIT_RUN.sub("0", _SPACE.sub(" ", s).strip())
