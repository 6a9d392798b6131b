"""Named entities (PERS, LOC, ORG, MISC) for Arabic documents.

Backends behind one interface (:class:`Backend`: BIO tags for token
sentences):

* ``offline-crf`` (default): the CRF trained on ANERcorp that ships in
  ``tasks/data/ner/`` (``python -m tasks.ner.train`` rebuilds it);
* ``camel``: camel-tools' ``NERecognizer.pretrained()`` (AraBERT), used only
  when its NER data is installed (``$CAMELTOOLS_DATA`` or ``~/.camel_tools``,
  ``data/ner/arabert``).

``NEWSFLOW_NER_BACKEND=auto|offline|camel`` chooses (auto: camel when
installed, else offline; ``NEWSFLOW_NER_MODEL=DIR`` points the offline
backend at another model directory, e.g. one built with
``python -m tasks.ner.train --train-only --out DIR``); ``doc.provenance["entities"]["backend"]`` says which
one ran. Entities are produced for Arabic only: other documents get none and
``provenance["entities"]`` says so (``supported: false`` with the reason).
"""
from __future__ import annotations

import hashlib
import json
import os
import re
from functools import lru_cache
from pathlib import Path

from newsflow.document import ENTITY_REASONS, Document, Entity
from newsflow.pipeline import Step

BACKEND_ENV = "NEWSFLOW_NER_BACKEND"
MODEL_ENV = "NEWSFLOW_NER_MODEL"  # the offline model's directory (default: the shipped tasks/data/ner)
BACKENDS = ("auto", "offline", "camel")
ARABIC_LANGS = {"ar", "arb", "arz", "ary", "apc", "ajp", "acm", "afb", "aeb", "apd", "ayl", "acq"}
UNSUPPORTED_REASON = "entities are produced for Arabic only"
NO_TEXT_REASON = "the document has no text to tag"

_ARABIC = re.compile("[\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\ufb50-\ufdff\ufe70-\ufeff]")
_LETTER = re.compile(r"[^\W\d_]")


class BackendUnavailable(RuntimeError):
    """The requested NER backend cannot run here."""


def camel_data_dir() -> Path:
    """Where camel-tools keeps its data (same rule as camel_tools.data, which
    cannot be imported here: it goes to the network at import)."""
    env = os.environ.get("CAMELTOOLS_DATA")
    return Path(env).expanduser() if env else Path.home() / ".camel_tools"


def camel_ner_installed() -> bool:
    model = camel_data_dir() / "data" / "ner" / "arabert"
    return (model / "config.json").is_file()


def choose_backend(setting: str | None = None) -> str:
    """``offline`` or ``camel`` for a setting (default: $NEWSFLOW_NER_BACKEND)."""
    value = (setting or os.environ.get(BACKEND_ENV) or "auto").strip().lower()
    if value not in BACKENDS:
        raise ValueError(f"{BACKEND_ENV} must be one of {', '.join(BACKENDS)}, got {value!r}")
    if value == "auto":
        return "camel" if camel_ner_installed() else "offline"
    if value == "camel" and not camel_ner_installed():
        raise BackendUnavailable(
            f"{BACKEND_ENV}=camel but camel-tools' NER data is not installed "
            f"(looked for {camel_data_dir() / 'data' / 'ner' / 'arabert'}); install it with "
            f"`camel_data -i ner-arabert` or use {BACKEND_ENV}=offline")
    return value


def is_arabic(doc: Document, text: str | None = None) -> bool:
    """From ``doc.language`` when known, else from the script of the text
    (``text`` if given, else the document's)."""
    lang = (doc.language or "").lower().split("-")[0].split("_")[0]
    if lang and lang not in ("und", "unknown", "mixed"):
        return lang in ARABIC_LANGS
    letters = _LETTER.findall((doc.text if text is None else text)[:20000])
    if not letters:
        return False
    return sum(1 for c in letters if _ARABIC.match(c)) >= 0.5 * len(letters)


# ---------------------------------------------------------------- backends
class Backend:
    name = "backend"
    model = ""
    fingerprint = ""  # changes when the model's files do (part of the step's version)
    known: frozenset = frozenset()  # listed names (normalised words) that canonical forms keep whole

    def tag(self, sentences: list[list[str]]) -> list[tuple[list[str], list[float]]]:
        """Per sentence: BIO tags and a confidence per token."""
        raise NotImplementedError


class CRFBackend(Backend):
    name = "offline-crf"

    def __init__(self, model_dir: Path | None = None):
        from tasks.ner import META_PATH, MODEL_DIR, NAMES_PATH
        from tasks.ner.features import FEATURE_VERSION
        from tasks.ner.model import NERModel

        d = Path(model_dir or os.environ.get(MODEL_ENV) or MODEL_DIR)
        if not (d / META_PATH.name).is_file():
            raise BackendUnavailable(f"no offline NER model in {d} (no {META_PATH.name}): check ${MODEL_ENV}, or "
                                     "build one with `python -m tasks.ner.train`")
        self.model_dir = d
        meta = json.loads((d / META_PATH.name).read_text(encoding="utf-8"))
        if meta.get("feature_version") != FEATURE_VERSION:
            raise BackendUnavailable(
                f"NER model in {d} was built with features v{meta.get('feature_version')}, code has "
                f"v{FEATURE_VERSION}: rebuild it with `python -m tasks.ner.train`")
        self.model = f"anercorp-crf/f{FEATURE_VERSION}"
        self.fingerprint = model_fingerprint(d)
        self.names: dict[str, int] = json.loads((d / NAMES_PATH.name).read_text(encoding="utf-8"))
        self.ner = NERModel(d)
        self.known = self.ner.clubs.names

    def tag(self, sentences):
        return self.ner.tag(sentences, confidence=True)


def model_fingerprint(model_dir: Path) -> str:
    """First 12 hex digits of a SHA-256 over the model directory's files
    (names and bytes): a retrained model, or a new ``places.json``, gives a
    new fingerprint and so a new step version. The data card and
    ``model.json`` (the build record: dev figures, training seconds) are left
    out, so a deterministic rebuild that tags alike re-processes nothing."""
    from tasks.ner import META_PATH

    h = hashlib.sha256()
    for f in sorted(Path(model_dir).iterdir()):
        if f.is_file() and f.suffix != ".md" and f.name != META_PATH.name:
            h.update(f.name.encode() + b"\0" + f.read_bytes() + b"\0")
    return h.hexdigest()[:12]


class CamelBackend(Backend):
    name = "camel"
    model = "camel-tools NERecognizer arabert"
    fingerprint = "arabert"

    def __init__(self):
        from camel_tools.ner import NERecognizer  # only reached when the data is installed

        self.ner = NERecognizer.pretrained(use_gpu=False)
        self.names: dict[str, int] = {}

    def tag(self, sentences):
        tags = self.ner.predict(sentences) if sentences else []
        return [(list(t), [1.0] * len(t)) for t in tags]


@lru_cache(maxsize=4)
def load_backend(name: str) -> Backend:
    """One loaded backend per process."""
    return CamelBackend() if name == "camel" else CRFBackend()


# ---------------------------------------------------------------- the step
class EntityStep(Step):
    name = "entities"
    # bump when tagging/canonical code changes what a document gets (3: rules after the CRF for and-joined
    # names, agency/paper names and name connectors; 4: party, agency, palace, national-body and name-tail rules;
    # 5: peninsulas, and the known-place rule for persons folds غ/ج; 6: الجزيرة العربية, place names made of
    # LOC spans, a name started after a connector; 7: bank names, lists of places split; 8: و + a place cut off ORG/PERS;
    # 9: paper names; 10: titled names; 11: entities of the title, byline, dateline and credit lines cut by clean;
    # 12: research centres, مركز أبحاث/دراسات/بحوث + definite words; 13: clubs, firms, channels, mosques and
    # prisons by name are ORG; 14: lines stay one sentence up to 2,000 tokens, no entity right after شهر;
    # 15: well-known organisations' names are ORG; 16: a known body's other names take its first name's canonical;
    # 17: an ORG span that starts with a known body's name ends with it before a word training never saw in one;
    # 18: sports clubs' names from clubs.json are ORG; 19: a listed club's canonical keeps its first word whole)
    CODE_VERSION = "19"

    @property
    def version(self) -> str:
        """Code version + backend + model fingerprint: documents landed by another
        model are outdated (re-processed by ``reprocess`` and by a re-run)."""
        b = self.backend
        return f"{self.CODE_VERSION}:{b.name}:{b.fingerprint}"

    def __init__(self, backend: str | None = None):
        self.backend_name = choose_backend(backend)  # fails early and clearly on a bad setting

    @property
    def backend(self) -> Backend:
        return load_backend(self.backend_name)

    def process(self, doc: Document) -> Document:
        from tasks.ner.canonical import canonicalise
        from tasks.ner.features import sentences, tokenize

        label = "offline-crf" if self.backend_name == "offline" else "camel"
        text = doc.text or ""
        for r in doc.removed:
            r.entities = []
        # the title, byline, dateline and credit lines the clean step cut are tagged after the body, as part of
        # the same document (the CRF's second pass reads how the body tagged a name: the title's بوتين is a
        # person because the body's is), and canonicalised with it (a short mention takes the body's full name)
        lines = [r for r in doc.removed if r.reason in ENTITY_REASONS and r.text.strip()]
        # with no body, the language (or the script of those lines) decides; with none of them either, there
        # is nothing to tag, whatever the language
        has_text = bool(text.strip())
        if not is_arabic(doc, text if has_text else "\n".join(r.text for r in lines)):
            doc.entities = []
            reason = UNSUPPORTED_REASON if has_text or lines else NO_TEXT_REASON
            doc.provenance["entities"] = {"backend": label, "supported": False, "reason": reason,
                                          "language": doc.language}
            return doc
        backend = self.backend
        sents = sentences(tokenize(text), text)
        line_sents = [sentences(tokenize(r.text), r.text) for r in lines]
        flat = [s for ss in line_sents for s in ss]
        tagged = backend.tag([[t[0] for t in s] for s in sents + flat])
        found: list[tuple[str, str, int, int, float]] = []
        for sent, (tags, conf) in zip(sents, tagged):
            found.extend(_entities(sent, tags, conf, text))
        line_tags = iter(tagged[len(sents):])
        extra: list[list[tuple[str, str, int, int, float]]] = []
        for r, ss in zip(lines, line_sents):
            got = []
            for sent in ss:
                tags, conf = next(line_tags)
                got.extend(_entities(sent, tags, conf, r.text))
            extra.append(got)
        every = found + [f for got in extra for f in got]
        canon = iter(canonicalise([(f[0], f[1]) for f in every], backend.names, backend.known))

        def make(f):
            t, typ, s, e, sc = f
            return Entity(text=t, type=typ, start=s, end=e, canonical=next(canon), score=round(sc, 4))

        doc.entities = [make(f) for f in found]
        for r, got in zip(lines, extra):
            r.entities = [make(f) for f in got]
        doc.provenance["entities"] = {
            "backend": backend.name, "model": backend.model, "model_fingerprint": backend.fingerprint,
            "supported": True, "language": "ar",
            "tokens": sum(len(s) for s in sents), "entities": len(doc.entities),
            "removed_line_entities": sum(len(got) for got in extra),
            "types": ["PERS", "LOC", "ORG", "MISC"],
        }
        return doc


def _entities(sent, tags, conf, text):
    """(text, type, start, end, score) for the BIO spans of one sentence."""
    out = []
    i, n = 0, len(sent)
    while i < n:
        tag = tags[i]
        if tag == "O" or len(tag) < 3:
            i += 1
            continue
        typ = tag[2:]
        j = i + 1
        while j < n and tags[j] == "I-" + typ:
            j += 1
        start, end = sent[i][1], sent[j - 1][2]
        out.append((text[start:end], typ, start, end, min(conf[i:j])))
        i = j
    return out
