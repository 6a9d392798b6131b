"""Build the labelled word-pair set for the language benchmark.

Run once (needs ``wordfreq``, only for building; the output is committed):

    python bench/lang/build_set.py

Sources, none of them a detector's training data:

* ``sentences_*.tsv`` -- news-style sentences written by hand for this project
  (``lang<TAB>sentence``).
* word pairs = (a) consecutive word pairs cut from those sentences and
  (b) two words drawn at random from wordfreq's top-3000 list of the language
  (frequency lists shipped inside the wordfreq wheel). A pair must be at least
  10 characters long, as in the Leipzig-style "word pairs" benchmark.

Output: ``wordpairs.tsv`` (``lang<TAB>pair<TAB>origin``).
"""
from __future__ import annotations

import random
import re
import unicodedata
from pathlib import Path

HERE = Path(__file__).resolve().parent
LANGS = ["ar", "fa", "ur", "en", "fr", "de", "es", "tr", "ru", "he"]
SCRIPT = {"ar": "ARABIC", "fa": "ARABIC", "ur": "ARABIC", "he": "HEBREW", "ru": "CYRILLIC"}
PER_LANG_WORDFREQ = 200
WORD = re.compile(r"[^\W\d_]+(?:['\u2019\u200c-][^\W\d_]+)*")


def sentences() -> list[tuple[str, str]]:
    out = []
    for p in sorted(HERE.glob("sentences_*.tsv")):
        for line in p.read_text(encoding="utf-8").splitlines():
            if line.strip():
                lang, text = line.split("\t", 1)
                out.append((lang, text.strip()))
    return out


def in_script(word: str, lang: str) -> bool:
    want = SCRIPT.get(lang, "LATIN")
    return all(unicodedata.name(c, "").startswith(want) or c in "'\u200c-" for c in word)


def main() -> None:
    rows: list[tuple[str, str, str]] = []
    seen = set()
    for lang, text in sentences():
        words = WORD.findall(text)
        for i in range(0, len(words) - 1, 2):  # non-overlapping consecutive pairs
            pair = f"{words[i]} {words[i + 1]}"
            if len(pair) >= 10 and (lang, pair) not in seen:
                seen.add((lang, pair))
                rows.append((lang, pair, "sentence"))
    import wordfreq  # build-time only

    rng = random.Random(20240914)
    for lang in LANGS:
        vocab = [w for w in wordfreq.top_n_list(lang, 3000) if in_script(w, lang) and len(w) > 1]
        n = 0
        while n < PER_LANG_WORDFREQ:
            pair = f"{rng.choice(vocab)} {rng.choice(vocab)}"
            if len(pair) >= 10 and (lang, pair) not in seen:
                seen.add((lang, pair))
                rows.append((lang, pair, "wordfreq"))
                n += 1
    out = HERE / "wordpairs.tsv"
    out.write_text("".join(f"{a}\t{b}\t{c}\n" for a, b, c in rows), encoding="utf-8")
    print(f"wrote {len(rows)} pairs to {out}")


if __name__ == "__main__":
    main()
