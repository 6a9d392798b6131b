"""Sports clubs' names, after the CRF.

ANERcorp tags a club ORG (يوفنتوس, ريال مدريد, المغرب الفاسي), and the CRF,
which has seen few of them, calls an unseen club a person (يوفنتوس,
ستيوا بوخارست) or a place (بنفيكا, دينامو كييف), or splits it in two
(ريال مدريد: ORG + LOC). The ``ArWikiCats`` package (MIT; Arabic Wikipedia
category names) ships the Arabic names of 2,162 clubs
(``jsons/sports/Clubs_key.json``); at build time (``python -m
tasks.ner.train``) they become ``clubs.json`` in the model directory:

* a sport's tail is dropped (نادي كايزرسلاوترن لكرة القدم -> نادي
  كايزرسلاوترن), and a name after نادي is kept bare too (كايزرسلاوترن);
* a name that is also a place in the package's city, region and country
  lists is left out (روما, ليفربول, ساو باولو: the town is meant far more
  often), and so is one that starts with a competition's word (بطولة, كأس,
  دوري) or a direction (جنوب الصين is a club, and a region).

The rule (:func:`club_rule`), on a run of words that is exactly a listed
name (the first word may carry proclitics) and not a known place:

* two words or more, the CRF tagged at least one of them, and the run does
  not cut a span: the run becomes one ORG;
* one word, the CRF tagged it PERS or LOC alone, and training never saw it:
  ORG.

At run time only ``clubs.json`` is read; the package is a build-time
dependency (the ``dev`` extra), like Babel for the CLDR place names.
"""
from __future__ import annotations

import importlib.util
import json
from pathlib import Path
from typing import Iterable, Sequence

from tasks.ner.features import Lexicon, gaz_key, lengths_by_first, name_runs, normalise
from tasks.ner.places import Places, set_span

CLUBS_NAME = "clubs.json"
PACKAGE = "arwikicats"
_CLUBS = "sports/Clubs_key.json"
# the package's lists of places (cities, regions, countries, counties)
_PLACES = ("cities/cities_full.json", "cities/yy2.json", "geography/popopo.json", "geography/P17_2_final_ll.json",
           "geography/regions.json", "geography/regions2.json", "geography/us_counties.json")
_SPORT_TAILS = ("لكرة القدم", "لكرة السلة", "لكرة اليد", "لكرة الطائرة")
_CLUB = "نادي"
_NOT_FIRST = ("بطولة", "كأس", "دوري", "جنوب", "شمال", "شرق", "غرب", "وسط")


def _key(words: Sequence[str]) -> tuple[str, ...]:
    return tuple(gaz_key(w) for w in words)


def find_data() -> Path:
    """The ``jsons`` folder of the installed ``ArWikiCats`` (found without
    importing it)."""
    spec = importlib.util.find_spec("ArWikiCats")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"building the NER model needs the {PACKAGE} package for its club names: "
                           f"pip install -e '.[dev]'")
    path = Path(spec.origin).parent / "jsons"
    if not (path / _CLUBS).is_file():
        raise RuntimeError(f"{PACKAGE} is installed but has no club list at {path / _CLUBS}")
    return path


def club_names(data: Path | None = None) -> list[str]:
    """The club names ``clubs.json`` keeps (see the module's text), sorted."""
    data = find_data() if data is None else data

    def values(name: str) -> Iterable[str]:
        d = json.loads((data / name).read_text(encoding="utf-8"))
        return (v for v in (d.values() if isinstance(d, dict) else d) if isinstance(v, str))

    places = {_key(v.split()) for f in _PLACES if (data / f).is_file() for v in values(f)}
    not_first = {gaz_key(w) for w in _NOT_FIRST}
    out = set()
    for name in values(_CLUBS):
        words = name.split()
        for tail in _SPORT_TAILS:
            t = tail.split()
            if len(words) > len(t) and words[-len(t):] == t:
                words = words[:-len(t)]
        forms = [words] + ([words[1:]] if len(words) > 1 and words[0] == _CLUB else [])
        for w in forms:
            k = _key(w)
            if k and k not in places and k[0] not in not_first:
                out.add(" ".join(w))
    return sorted(out)


class Clubs:
    """Club names compared as gazetteer keys (normalised, clitic-free)."""

    def __init__(self, names: Iterable[str] = ()):
        names = list(names)
        self.keys = {k for k in (_key(n.split()) for n in names) if k}
        # the names as normalised words, for canonical forms (tasks.ner.canonical: a listed name keeps its first word)
        self.names = frozenset(tuple(normalise(w) for w in n.split()) for n in names if n.split())
        self.lengths = lengths_by_first(self.keys)

    def __bool__(self) -> bool:
        return bool(self.keys)

    @classmethod
    def load(cls, model_dir: Path) -> "Clubs":
        """``clubs.json`` of a model directory (none in models built before it)."""
        path = Path(model_dir) / CLUBS_NAME
        return cls(json.loads(path.read_text(encoding="utf-8")) if path.is_file() else ())


def write_clubs(out: Path, names: Sequence[str] | None = None) -> None:
    """``clubs.json`` (from the installed package unless ``names`` are given);
    the CRFs do not depend on it."""
    (out / CLUBS_NAME).write_text(json.dumps(club_names() if names is None else list(names), ensure_ascii=False,
                                             indent=0) + "\n", encoding="utf-8")


def club_rule(tokens: Sequence[str], tags: list[str], keys: Sequence[str], clubs: Clubs, places: Places,
              lexicon: Lexicon) -> None:
    """Tag, in place, listed club names ORG (the module's rule). ``keys``:
    the tokens' gazetteer keys, as the tagger has them."""
    n = len(tokens)
    for i, end in name_runs(clubs.keys, clubs.lengths, keys):
        ln = end - i
        if not tags[i].startswith("I-") and (end == n or not tags[end].startswith("I-")):
            if ln > 1:
                fire = any(t != "O" for t in tags[i:end]) and tags[i:end] != ["B-ORG"] + ["I-ORG"] * (ln - 1)
            else:
                fire = tags[i] in ("B-PERS", "B-LOC") and keys[i] not in lexicon.words
            if fire and not places.is_place(tokens[i:end]):
                set_span(tags, i, end, "ORG")
