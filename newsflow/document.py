"""The one record that flows through every step.

A :class:`Document` is created by the reader with the decoded input in
``content`` (and ``text`` set to the same string), then each step fills in the
fields it owns:

=========  ==================================================================
step       fields
=========  ==================================================================
read       id, source, content, text, format, encoding, raw, raw_ext, url,
           reference_date, published (from JSON input), provenance["read"]
clean      text, title, removed, published, published_source, publisher,
           author, site_name, url
language   language, language_score, languages
entities   entities, and removed[].entities of the title, byline, dateline and
           source-credit lines
dates      dates (and published, when only a dateline gives it)
=========  ==================================================================

Steps never raise for one bad document: the pipeline catches the exception and
quarantines that document with the step's name as the reason.

The JSON form (:meth:`Document.to_json`) is the stable interface printed by
``newsflow inspect`` and stored in object storage. Fields are only ever added.
"""
from __future__ import annotations

import hashlib
import re
import unicodedata
from dataclasses import asdict, dataclass, field
from typing import Any

SCHEMA_VERSION = 1

# Characters that never change the meaning of a text: zero-width marks,
# bidi controls, BOM, Arabic tatweel.
_INVISIBLE = re.compile("[\u200b-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u0640\u00ad]")
_SPACE = re.compile(r"\s+")


def normalise_for_id(content: str) -> str:
    """The normalisation behind document ids. Frozen: changing it changes ids.

    NFKC (folds Arabic presentation forms and full-width forms), drops
    invisible marks and tatweel, collapses all white space.
    """
    text = unicodedata.normalize("NFKC", content)
    text = _INVISIBLE.sub("", text)
    return _SPACE.sub(" ", text).strip()


def content_id(content: str) -> str:
    """Content-hash id: the same article under two names is one document."""
    return hashlib.sha256(normalise_for_id(content).encode("utf-8")).hexdigest()[:32]


@dataclass
class Entity:
    text: str
    type: str  # PERS | LOC | ORG | MISC
    start: int  # character offsets into Document.text (Removed.text for a cut line's entities)
    end: int
    canonical: str
    score: float | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class DateMention:
    text: str
    value: str | None  # ISO 8601 at its granularity; "start/end" for ranges; None if unresolvable
    granularity: str  # day | month | year | time (a time of day was given)
    start: int
    end: int
    relative: bool = False
    calendar: str = "gregorian"  # or "hijri" (then `hijri` keeps the Hijri value)
    hijri: str | None = None

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


@dataclass
class Removed:
    """A line or block cut by the clean step, kept so users can audit cuts.

    Lines cut because they are not body text but still say something about
    the article (its title, a byline or dateline, a copyright or source
    credit: "translated from وكالة تسنیم للأنباء") get the entity step's
    entities too, with offsets into this record's ``text``
    (:data:`ENTITY_REASONS`)."""

    text: str
    reason: str
    line: int | None = None  # 1-based line in the input (text mode)
    entities: list[Entity] = field(default_factory=list)

    def to_dict(self) -> dict[str, Any]:
        return asdict(self)


# removed lines whose entities are found (offsets into Removed.text)
ENTITY_REASONS = ("title", "byline", "dateline", "cue:copyright", "cue:credit")


@dataclass
class Document:
    id: str
    source: str
    content: str  # the decoded input as read (text or HTML)
    format: str = "text"  # "text" | "html"
    text: str = ""
    title: str | None = None
    removed: list[Removed] = field(default_factory=list)
    language: str | None = None
    language_score: float | None = None
    languages: dict[str, float] = field(default_factory=dict)
    published: str | None = None  # ISO 8601
    published_source: str | None = None  # e.g. "input", "meta", "dateline"
    publisher: str | None = None
    author: str | None = None
    site_name: str | None = None
    url: str | None = None
    reference_date: str | None = None  # YYYY-MM-DD given by the caller or the input
    entities: list[Entity] = field(default_factory=list)
    dates: list[DateMention] = field(default_factory=list)
    encoding: str | None = None
    raw_ext: str = ".txt"
    provenance: dict[str, Any] = field(default_factory=dict)
    raw: bytes | None = field(default=None, repr=False)  # original bytes; never serialised

    @classmethod
    def from_content(cls, content: str, source: str, **kw: Any) -> "Document":
        kw.setdefault("text", content)
        return cls(id=content_id(content), source=source, content=content, **kw)

    def to_json(self, *, with_content: bool = False) -> dict[str, Any]:
        """The stable JSON form (see module docstring)."""
        out: dict[str, Any] = {
            "source": self.source,
            "id": self.id,
            "title": self.title,
            "text": self.text,
            "removed": [r.to_dict() for r in self.removed],
            "language": self.language,
            "language_score": self.language_score,
            "languages": self.languages,
            "published": self.published,
            "published_source": self.published_source,
            "publisher": self.publisher,
            "author": self.author,
            "site_name": self.site_name,
            "url": self.url,
            "format": self.format,
            "encoding": self.encoding,
            "reference_date": self.reference_date,
            "entities": [e.to_dict() for e in self.entities],
            "dates": [d.to_dict() for d in self.dates],
            "provenance": self.provenance,
            "schema_version": SCHEMA_VERSION,
        }
        if with_content:
            out["content"] = self.content
        return out


@dataclass
class Quarantined:
    """An input that could not become a document, and why. Never dropped:
    it is recorded in Postgres and its raw bytes kept under the quarantine prefix."""

    source: str
    reason: str  # short machine-readable reason: empty, binary, undecodable, ...
    detail: str = ""
    raw: bytes = field(default=b"", repr=False)
    raw_ext: str = ".bin"

    @property
    def id(self) -> str:
        """Stable id: hash of the source and raw bytes (re-runs upsert, not duplicate)."""
        h = hashlib.sha256(self.source.encode("utf-8", "surrogateescape") + b"\0" + self.raw)
        return h.hexdigest()[:32]

    def to_json(self) -> dict[str, Any]:
        return {"source": self.source, "id": self.id, "reason": self.reason, "detail": self.detail,
                "bytes": len(self.raw)}
