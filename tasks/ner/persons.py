"""Person names from Wikidata, as evidence for the CRF.

ANERcorp's own gazetteer has about 2,300 person names. Wikidata's Arabic
labels of people have far more, and the ``arabic-name-romanizer`` package
ships them as an index (``resources/names.sqlite3``: name units with their
role and count, and full names). At build time (``python -m tasks.ner.train``)
the Wikidata rows of that index (CC0; its other source, an MIT-licensed
benchmark, is left out) become ``persons.json`` in the model directory:

* ``counts``: for each word (the gazetteer key: normalised, clitic-free),
  how many Wikidata people have it as a given name or surname. The CRF sees
  it as a coarse bucket (``pn=b0`` .. ``pn=b5``), so it learns how far a
  word's popularity as a name goes: على/علي is in the list too, and the
  lexicon says how training tagged it;
* ``full``: multi-word full names, matched like a gazetteer of type
  ``WPERS`` (``gz=B-WPERS``, ``gw=WPERS``), apart from ANERgazet's ``PERS``.

At run time only ``persons.json`` is read; the package is a build-time
dependency (the ``dev`` extra), like Babel for the CLDR place names.
"""
from __future__ import annotations

import importlib.util
import json
import math
import sqlite3
from pathlib import Path
from typing import Iterable

from tasks.ner.features import Gazetteer, gaz_key

PERSONS_NAME = "persons.json"
GAZETTEER_TYPE = "WPERS"
PACKAGE = "arabic-name-romanizer"
SOURCE = "wikidata"  # the CC0 rows of the index


def find_index() -> Path:
    """``names.sqlite3`` of the installed ``arabic_name_romanizer`` (found
    without importing it: the package itself loads onnxruntime)."""
    spec = importlib.util.find_spec("arabic_name_romanizer")
    if spec is None or spec.origin is None:
        raise RuntimeError(f"building the NER model needs the {PACKAGE} package for its Wikidata name index: "
                           f"pip install -e '.[dev]'")
    path = Path(spec.origin).parent / "resources" / "names.sqlite3"
    if not path.is_file():
        raise RuntimeError(f"{PACKAGE} is installed but has no name index at {path}")
    return path


class PersonNames:
    def __init__(self, counts: dict[str, int] | None = None, full: Iterable[str] = ()):
        self.counts = counts or {}
        self.full = sorted(set(full))
        self._marks = {k: ("b" + str(bucket(n)),) for k, n in self.counts.items()}

    def marks(self, key: str) -> tuple[str, ...]:
        """CRF feature values for a gazetteer key (empty if no person has it)."""
        return self._marks.get(key, ())

    def gazetteer_entries(self, entries: dict[str, list[str]]) -> dict[str, list[str]]:
        """``entries`` (ANERgazet) plus the full names as type ``WPERS``."""
        return {**entries, GAZETTEER_TYPE: self.full} if self.full else dict(entries)

    @classmethod
    def from_index(cls, path: Path | None = None) -> "PersonNames":
        con = sqlite3.connect(f"file:{path or find_index()}?mode=ro", uri=True)
        try:
            counts: dict[str, int] = {}
            for unit, n in con.execute("SELECT arabic_key, count FROM units WHERE source = ?", (SOURCE,)):
                for word in unit.split():  # units such as عبد الرحمن count for each word
                    key = gaz_key(word)
                    if len(key) > 1:
                        counts[key] = counts.get(key, 0) + int(n)
            full = {" ".join(name.split()) for name, in
                    con.execute("SELECT arabic_key FROM full_names WHERE source = ?", (SOURCE,))}
        finally:
            con.close()
        return cls(dict(sorted(counts.items())), (n for n in full if len(n.split()) > 1))

    def to_json(self) -> dict:
        return {"source": f"Wikidata labels of people (CC0), from the {PACKAGE} package's index",
                "counts": self.counts, "full": self.full}

    @classmethod
    def from_json(cls, data: dict) -> "PersonNames":
        return cls(data.get("counts", {}), data.get("full", ()))

    @classmethod
    def load(cls, model_dir: Path) -> "PersonNames | None":
        path = Path(model_dir) / PERSONS_NAME
        return cls.from_json(json.loads(path.read_text(encoding="utf-8"))) if path.is_file() else None

    def write(self, model_dir: Path) -> None:
        (Path(model_dir) / PERSONS_NAME).write_text(
            json.dumps(self.to_json(), ensure_ascii=False, separators=(",", ":")) + "\n", encoding="utf-8")


def model_gazetteer(gaz_entries: dict[str, list[str]], persons: PersonNames | None) -> Gazetteer:
    """ANERgazet, plus Wikidata's full person names when ``persons`` is given:
    the gazetteer a model is trained with and tagged with."""
    return Gazetteer(persons.gazetteer_entries(gaz_entries) if persons is not None else gaz_entries)


def bucket(n: int) -> int:
    """0: 1-3 people, 1: 4-15, 2: 16-63, 3: 64-255, 4: 256-1023, 5: more."""
    return min(int(math.log2(max(n, 1))) // 2, 5)
