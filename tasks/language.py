"""Language step: script analysis first, then a seeded, restricted langdetect,
letter-frequency cues for Arabic script, and lingua as a second opinion.

Pipeline for one document (see ``.notes/language.md`` for measured figures):

1. Clean: NFKC, drop URLs / e-mails / @handles, strip diacritics, tatweel and
   invisible marks, turn digits, punctuation and symbols into spaces.
2. Split into paragraphs (lines) and count letters per Unicode script.
3. Letters of each script form a *group*. A script that implies its language
   (Hebrew, Greek, Hangul, Thai, ...) is decided by the script alone. For the
   shared scripts (Latin, Cyrillic, Arabic, Devanagari) the group's text is
   judged on a bounded sample (at most ``SAMPLE_CHARS``, taken as evenly
   spaced windows) so cost does not grow with length:

   * langdetect with a *private* factory holding only the profiles of that
     script, ``seed=0`` (global ``DetectorFactory`` state is never touched),
     and a prior favouring the newsroom's primary languages;
   * for Arabic script, a letter-frequency model (from langdetect's own 1-gram
     profiles, plus the Persian/Arabic yeh and kaf and the Urdu heh cues that
     langdetect normalises away) over ar / fa / ur;
   * if the text is short or langdetect is not sure, lingua (high-accuracy
     mode, models inside its wheel) restricted to the same candidates gives a
     second opinion; the opinions are combined in log space.

4. A paragraph whose function words point to another language than its group
   is judged on its own (mixed documents); the document language is the one
   with the largest share of letters, and ``languages`` holds the shares.
5. ``language_score`` is the combined posterior passed through a reliability
   map measured on ``bench/lang`` (``tasks/data/lang/calibration.json``).

Never raises for odd input: too little text gives ``und`` with a reason in
``provenance["language"]``.
"""
from __future__ import annotations

import bisect
import json
import math
import os
import re
import threading
import unicodedata
from collections import Counter
from functools import lru_cache
from pathlib import Path
from typing import Any

from newsflow.document import Document
from newsflow.pipeline import Step

DATA_DIR = Path(__file__).resolve().parent / "data" / "lang"

# ---------------------------------------------------------------- parameters
SAMPLE_CHARS = 256  # langdetect/lingua never see more than this per judgement
LD_TRIALS = 3  # langdetect trials (default 7); seeded, so fewer trials only cost variance we measured
SAMPLE_WINDOWS = 4  # a long group is sampled as this many evenly spaced windows
MIN_LETTERS = 3  # fewer letters than this in the whole document -> und
SURE_LETTERS = 60  # langdetect alone is trusted only on at least this many letters
SURE_PROB = 0.995  # ... and when its top probability is at least this
NOISE_LETTERS = 40  # a script group this small and ...
NOISE_SHARE = 0.03  # ... this small a share of the letters is ignored as noise
MIN_SHARE = 0.01  # languages below this share are left out of `languages`
PARA_OWN_LETTERS = 40  # paragraphs at least this long may be judged on their own
# A script group with less than this share of the document's letters (a Latin
# university name in an Arabic article) is judged by langdetect alone: its exact
# language only moves `languages` a little, and the second opinion would load
# lingua's models for that script (about 700 MB for Latin) into every worker.
MINORITY_SHARE = 0.2
# Prior: the newsroom's primary languages get weight 1, every other candidate
# OTHER_PRIOR. On sentences the prior changes nothing measurable; on word
# pairs it removes most Spanish->Portuguese / English->Italian slips.
PRIMARY = ("ar", "fa", "ur", "en", "fr", "de", "es", "tr", "ru", "he")
OTHER_PRIOR = 0.2
W_LINGUA = 1.0  # weights of the opinions in the log-linear combination
W_LANGDETECT = 0.25
W_LETTERS = 0.25
LD_FLOOR = 0.01  # langdetect probabilities are floored here before the log
LETTER_CAP = 12  # letter evidence counts at most this many cue letters (they are not independent)
LETTER_FLOOR = 6.0  # one cue letter says at most this much (in log-odds) against a language

# ---------------------------------------------------------------- scripts
# langdetect's profiles, by script. Scripts not listed here decide alone.
SCRIPT_CANDIDATES: dict[str, tuple[str, ...]] = {
    "Latin": ("af", "ca", "cs", "cy", "da", "de", "en", "es", "et", "fi", "fr", "hr", "hu", "id",
              "it", "lt", "lv", "nl", "no", "pl", "pt", "ro", "sk", "sl", "so", "sq", "sv", "sw",
              "tl", "tr", "vi"),
    "Cyrillic": ("bg", "mk", "ru", "uk"),
    "Arabic": ("ar", "fa", "ur"),
    "Devanagari": ("hi", "mr", "ne"),
}
SCRIPT_LANGUAGE = {
    "Hebrew": "he", "Greek": "el", "Armenian": "hy", "Georgian": "ka", "Thai": "th", "Hangul": "ko",
    "Kana": "ja", "Han": "zh", "Bengali": "bn", "Gurmukhi": "pa", "Gujarati": "gu", "Tamil": "ta",
    "Telugu": "te", "Kannada": "kn", "Malayalam": "ml", "Ethiopic": "am", "Khmer": "km", "Lao": "lo",
    "Myanmar": "my", "Sinhala": "si", "Thaana": "dv", "Tibetan": "bo", "Syriac": "syr",
}
_NAME_SCRIPT = {
    "LATIN": "Latin", "CYRILLIC": "Cyrillic", "ARABIC": "Arabic", "HEBREW": "Hebrew",
    "GREEK": "Greek", "ARMENIAN": "Armenian", "GEORGIAN": "Georgian", "THAI": "Thai",
    "HANGUL": "Hangul", "HIRAGANA": "Kana", "KATAKANA": "Kana", "CJK": "Han",
    "DEVANAGARI": "Devanagari", "BENGALI": "Bengali", "GURMUKHI": "Gurmukhi",
    "GUJARATI": "Gujarati", "TAMIL": "Tamil", "TELUGU": "Telugu", "KANNADA": "Kannada",
    "MALAYALAM": "Malayalam", "ETHIOPIC": "Ethiopic", "KHMER": "Khmer", "LAO": "Lao",
    "MYANMAR": "Myanmar", "SINHALA": "Sinhala", "THAANA": "Thaana", "TIBETAN": "Tibetan",
    "SYRIAC": "Syriac",
}
# lingua has no plain "no"; Norwegian text is mostly Bokmal.
_LINGUA_CODE = {"no": "nb"}

# Yiddish is written in Hebrew script; these digraphs/words are its own.
_YIDDISH = re.compile(r"[\u05f0-\u05f2\ufb1f]|(?:^|\s)(?:און|איז|פון|ניט|נישט|זיין|געווען)(?=\s|$)")

# Function words (the most frequent, short, unambiguous ones) used only to
# notice that a paragraph is in another language than the rest of its script.
FUNCTION_WORDS: dict[str, frozenset[str]] = {k: frozenset(v.split()) for k, v in {
    "en": "the and of to is that for with was are this from have has were which",
    "fr": "le la les des est et une du dans pour que qui pas sur au aux avec",
    "de": "der die das und ist nicht mit den von zu ein eine auf für sich dem",
    "es": "el los las del que y en una por para con es se lo al",
    "it": "il della che non per una sono gli del le di è nel alla",
    "pt": "os das não uma para com que do da em ao são pelo",
    "nl": "de het een van en is dat niet op zijn met voor ook",
    "tr": "ve bir bu için ile olarak gibi çok daha olan ama",
    "id": "yang dan di dengan untuk dari ini itu tidak dalam",
    "ru": "и в не на что с по это как из но для от он",
    "uk": "і в не на що з та це як до від але він",
    "bg": "и в не на че с по се за от да е",
    "ar": "في من على إلى أن التي الذي عن مع هذا كان وقد",
    "fa": "از به در که این را با است برای می آن شد",
    "ur": "کے میں کی ہے اور سے کا کو نے پر ہیں یہ",
}.items()}

_URL = re.compile(r"\S*://\S*|www\.\S+", re.IGNORECASE)  # only run when "://" or "www." occurs
_AT = re.compile(r"\S*@\S*")  # e-mail addresses and @handles (only run when "@" occurs)
_TLD = "com|org|net|info|io|gov|edu|co|ru|ir|ae|sa|eg|uk|de|fr|tr|pk"
_HAS_DOMAIN = re.compile(r"\.(?:%s)\b" % _TLD, re.IGNORECASE)
_DOMAIN = re.compile(r"\S+\.(?:%s)\b\S*" % _TLD, re.IGNORECASE)
# deleted outright: Arabic harakat, Hebrew points, tatweel, combining marks, joiners, bidi marks
_STRIP = re.compile("[\u0610-\u061a\u064b-\u065f\u0670\u06d6-\u06ed\u0591-\u05c7\u0640"
                    "\u0300-\u036f\u200b\u200d-\u200f\u202a-\u202e\u2066-\u2069\ufeff\u00ad]")
# everything that is not a letter (Indic/SE-Asian vowel signs kept) -> space
_JUNK = re.compile(r"[^\w\s\u0900-\u0963\u0966-\u0dff\u0e00-\u0eff\u1000-\u109f]|[\d_]|\u200c")
_SPACES = re.compile(r"\s+")
_LINES = re.compile(r"\s*\n\s*")

# Per-script "keep only this script" patterns (for the shared scripts).
_ONLY = {
    "Latin": re.compile(r"[^A-Za-z\u00c0-\u00d6\u00d8-\u00f6\u00f8-\u024f\u1e00-\u1eff\s]+"),
    "Cyrillic": re.compile(r"[^\u0400-\u052f\s]+"),
    "Arabic": re.compile(r"[^\u0600-\u06ff\u0750-\u077f\u08a0-\u08ff\s]+"),
    "Devanagari": re.compile(r"[^\u0900-\u097f\s]+"),
}


def clean_text(text: str) -> str:
    """Letters and spaces only; newlines kept (they separate paragraphs)."""
    text = unicodedata.normalize("NFKC", text)
    if "://" in text or "www." in text or "WWW." in text:
        text = _URL.sub(" ", text)
    if "@" in text:
        text = _AT.sub(" ", text)
    if _HAS_DOMAIN.search(text):
        text = _DOMAIN.sub(" ", text)
    text = _STRIP.sub("", text)
    return _JUNK.sub(" ", text)


@lru_cache(maxsize=16384)
def script_of(ch: str) -> str | None:
    """Script of one letter (None for anything that is not a letter of a known script)."""
    if ch.isspace():
        return None
    name = unicodedata.name(ch, "")
    return _NAME_SCRIPT.get(name.split(" ", 1)[0]) if name else None


def script_counts(text: str) -> Counter:
    out: Counter = Counter()
    for ch, n in Counter(text).items():
        s = script_of(ch)
        if s:
            out[s] += n
    return out


def bounded_sample(text: str, limit: int | None = None, windows: int = SAMPLE_WINDOWS) -> str:
    """At most ``limit`` characters: the text itself, or evenly spaced word-aligned windows."""
    limit = SAMPLE_CHARS if limit is None else limit
    if len(text) <= limit:
        return text
    size = limit // windows
    step = (len(text) - size) / max(windows - 1, 1)
    parts = []
    for i in range(windows):
        start = int(i * step)
        if start:
            sp = text.find(" ", start, start + 30)
            start = sp + 1 if sp >= 0 else start
        end = start + size
        sp = text.rfind(" ", end - 30, end)
        parts.append(text[start:sp if sp > start else end])
    return " ".join(parts)


# ---------------------------------------------------------------- models (lazy, per process)
_lock = threading.RLock()


@lru_cache(maxsize=None)
def _langdetect_factory(script: str):
    """A private langdetect factory with only this script's profiles and seed 0."""
    from langdetect.detector_factory import PROFILES_DIRECTORY, DetectorFactory

    factory = DetectorFactory()
    profiles = []
    for code in SCRIPT_CANDIDATES[script]:
        with open(os.path.join(PROFILES_DIRECTORY, code), encoding="utf-8") as fh:
            profiles.append(fh.read())
    factory.load_json_profile(profiles)
    factory.set_seed(0)
    return factory


@lru_cache(maxsize=None)
def _lingua_detector(script: str):
    from lingua import IsoCode639_1, LanguageDetectorBuilder

    codes = [getattr(IsoCode639_1, _LINGUA_CODE.get(c, c).upper()) for c in SCRIPT_CANDIDATES[script]]
    return LanguageDetectorBuilder.from_iso_codes_639_1(*codes).build()


@lru_cache(maxsize=None)
def _letter_model() -> dict[str, dict[str, float]]:
    """log P(letter | lang) for ar/fa/ur from langdetect's 1-gram profiles.

    langdetect folds Farsi yeh (U+06CC) into Arabic yeh (U+064A) before
    counting, so the profiles' yeh is split again by how each language writes it.
    """
    from langdetect.detector_factory import PROFILES_DIRECTORY

    with open(DATA_DIR / "letters.json", encoding="utf-8") as fh:
        yeh_split = json.load(fh)["yeh"]
    out: dict[str, dict[str, float]] = {}
    for code in SCRIPT_CANDIDATES["Arabic"]:
        with open(os.path.join(PROFILES_DIRECTORY, code), encoding="utf-8") as fh:
            prof = json.load(fh)
        letters = {k: v for k, v in prof["freq"].items()
                   if len(k) == 1 and script_of(k) == "Arabic" and k.isalpha()}
        yeh = letters.pop("\u064a", 0)
        arabic_yeh = yeh_split[code]
        letters["\u064a"] = yeh * arabic_yeh
        letters["\u06cc"] = yeh * (1 - arabic_yeh)
        total = sum(letters.values())
        floor = math.log(0.5 / total)
        model = {k: math.log((v + 0.5) / total) for k, v in letters.items()}
        model[""] = floor
        out[code] = model
    return out


@lru_cache(maxsize=1)
def _calibration() -> tuple[list[float], list[float]] | None:
    try:
        with open(DATA_DIR / "calibration.json", encoding="utf-8") as fh:
            data = json.load(fh)
        return data["raw"], data["calibrated"]
    except (OSError, ValueError, KeyError):
        return None


def calibrate(raw: float) -> float:
    """Map a raw posterior to a measured accuracy (piecewise linear reliability map)."""
    table = _calibration()
    if not table:
        return round(raw, 4)
    xs, ys = table
    if raw <= xs[0]:
        return round(ys[0], 4)
    if raw >= xs[-1]:
        return round(ys[-1], 4)
    i = bisect.bisect_right(xs, raw)
    x0, x1, y0, y1 = xs[i - 1], xs[i], ys[i - 1], ys[i]
    return round(y0 + (y1 - y0) * (raw - x0) / (x1 - x0 or 1.0), 4)


# ---------------------------------------------------------------- one judgement
def _log_prior(code: str, primary: frozenset[str]) -> float:
    return 0.0 if code in primary else math.log(OTHER_PRIOR)


def _langdetect_probs(script: str, text: str, primary: frozenset[str]) -> dict[str, float] | None:
    from langdetect.lang_detect_exception import LangDetectException

    factory = _langdetect_factory(script)
    detector = factory.create()
    detector.n_trial = LD_TRIALS
    detector.set_prior_map({c: math.exp(_log_prior(c, primary)) for c in SCRIPT_CANDIDATES[script]})
    detector.append(text)
    try:
        return {p.lang: p.prob for p in detector.get_probabilities()}
    except LangDetectException:  # no usable n-gram (e.g. only capitalised words)
        return None


def _lingua_probs(script: str, text: str) -> dict[str, float]:
    out = {}
    for cv in _lingua_detector(script).compute_language_confidence_values(text):
        code = cv.language.iso_code_639_1.name.lower()
        out["no" if code == "nb" else code] = cv.value
    return out


@lru_cache(maxsize=None)
def _letter_cues() -> dict[str, dict[str, float]]:
    """Distinctive letters only: per language, log P(c|lang) - max over languages,
    for letters whose probability differs more than tenfold between ar/fa/ur
    (e.g. Arabic yeh/kaf/teh marbuta vs Persian/Urdu yeh/keheh/peh vs Urdu
    heh goal/yeh barree/noon ghunna), floored at -LETTER_FLOOR so that one
    stray letter (a Persian yeh in an Arabic text) cannot outvote the rest."""
    model = _letter_model()
    letters = set().union(*(set(m) for m in model.values())) - {""}
    cues: dict[str, dict[str, float]] = {code: {} for code in model}
    for ch in letters:
        vals = {code: m.get(ch, m[""]) for code, m in model.items()}
        top = max(vals.values())
        if top - min(vals.values()) > math.log(10):
            for code, v in vals.items():
                cues[code][ch] = max(v - top, -LETTER_FLOOR)
    return cues


def _letter_scores(text: str) -> dict[str, float]:
    """Letter-cue evidence for each Arabic-script language (0 = no evidence against).

    At most LETTER_CAP cue letters count (they are not independent)."""
    cues = _letter_cues()
    counts = Counter(ch for ch in text if ch in cues["ar"])
    n = sum(counts.values())
    if not n:
        return {code: 0.0 for code in cues}
    weight = min(n, LETTER_CAP) / n
    return {code: weight * sum(k * c[ch] for ch, k in counts.items()) for code, c in cues.items()}


def judge(text: str, script: str, primary: frozenset[str] = frozenset(PRIMARY),
          second_opinion: bool = True) -> dict[str, Any]:
    """Language of a single-script text. Returns {lang, raw, method, probs}.

    With `second_opinion=False` (a minority script group of a document) only
    langdetect (and, for Arabic script, the letter cues) decide."""
    if script in SCRIPT_LANGUAGE:
        lang = SCRIPT_LANGUAGE[script]
        if script == "Hebrew" and _YIDDISH.search(text):
            lang = "yi"
        return {"lang": lang, "raw": 0.999, "method": "script"}
    if script not in SCRIPT_CANDIDATES:
        return {"lang": "und", "raw": 0.0, "method": "script", "reason": f"unsupported_script:{script}"}
    sample = bounded_sample(_SPACES.sub(" ", text).strip())
    letters = sum(1 for ch in sample if not ch.isspace())
    with _lock:  # langdetect detectors are cheap, but keep factories/lingua single-flight
        ld = _langdetect_probs(script, sample, primary)
    if ld and letters >= SURE_LETTERS:
        top = max(ld, key=ld.get)
        if ld[top] >= SURE_PROB:
            if script != "Arabic":
                return {"lang": top, "raw": ld[top], "method": "langdetect"}
            letters_says = _letter_scores(sample)
            if max(letters_says, key=letters_says.get) == top:
                return {"lang": top, "raw": ld[top], "method": "langdetect+letters"}
    if not second_opinion:
        if not ld:
            return {"lang": "und", "raw": 0.0, "method": "langdetect", "reason": "minority_undecided"}
        top = max(ld, key=ld.get)
        return {"lang": top, "raw": ld[top], "method": "langdetect-minority"}
    with _lock:
        lg = _lingua_probs(script, sample)
    cands = SCRIPT_CANDIDATES[script]
    w_ld = W_LANGDETECT * min(1.0, letters / SURE_LETTERS)
    score = {c: _log_prior(c, primary) for c in cands}
    for c in cands:
        score[c] += W_LINGUA * math.log(max(lg.get(c, 0.0), 1e-6))
        if ld is not None:  # langdetect is overconfident on short text: temper and floor it
            score[c] += w_ld * math.log(max(ld.get(c, 0.0), LD_FLOOR))
    method = "langdetect+lingua" if ld is not None else "lingua"
    if script == "Arabic":
        for c, s in _letter_scores(sample).items():
            score[c] += W_LETTERS * s
        method += "+letters"
    top_score = max(score.values())
    z = sum(math.exp(s - top_score) for s in score.values())
    post = {c: math.exp(s - top_score) / z for c, s in score.items()}
    top = max(post, key=post.get)
    return {"lang": top, "raw": post[top], "method": method,
            "probs": {c: round(p, 4) for c, p in sorted(post.items(), key=lambda kv: -kv[1])[:3]}}


# ---------------------------------------------------------------- document
@lru_cache(maxsize=1)
def _function_word_index() -> dict[str, tuple[str, ...]]:
    index: dict[str, list[str]] = {}
    for lang, words in FUNCTION_WORDS.items():
        for w in words:
            index.setdefault(w, []).append(lang)
    return {w: tuple(langs) for w, langs in index.items()}


def _function_word_votes(words: list[str]) -> Counter:
    index = _function_word_index()
    votes: Counter = Counter()
    for w in words:
        langs = index.get(w)
        if langs:
            votes.update(langs)
    return votes


def detect(text: str, primary: frozenset[str] = frozenset(PRIMARY)) -> dict[str, Any]:
    """Detect the language(s) of a text. Pure function of its inputs (deterministic)."""
    if not isinstance(text, str):
        text = "" if text is None else str(text)
    cleaned = clean_text(text)
    paragraphs = [p for p in (_SPACES.sub(" ", line).strip() for line in _LINES.split(cleaned)) if p]
    totals = script_counts(cleaned)
    if len(totals) == 1 and sum(totals.values()) == sum(len(p) - p.count(" ") for p in paragraphs):
        # one script only (the common case): no per-paragraph script census needed
        only_script = next(iter(totals))
        para_scripts = [{only_script: len(p) - p.count(" ")} for p in paragraphs]
    else:
        para_scripts = [script_counts(p) for p in paragraphs]
    n_letters = sum(totals.values())
    if n_letters == 0:
        reason = "empty" if not text.strip() else "no_letters"
        return {"language": "und", "score": 0.0, "languages": {}, "reason": reason, "letters": 0}
    if n_letters < MIN_LETTERS:
        return {"language": "und", "score": 0.0, "languages": {}, "reason": "too_short",
                "letters": n_letters}

    # script groups; tiny ones are noise (a brand name in an Arabic article)
    scripts = [s for s, n in totals.most_common()
               if n >= NOISE_LETTERS or n / n_letters >= NOISE_SHARE]
    shares: Counter = Counter()
    groups: dict[str, dict[str, Any]] = {}
    own: list[dict[str, Any]] = []
    for script in scripts:
        parts = []  # (paragraph index, this script's text of the paragraph)
        for i, p in enumerate(paragraphs):
            if para_scripts[i].get(script):
                only = _ONLY.get(script) if len(para_scripts[i]) > 1 else None
                parts.append((i, _SPACES.sub(" ", only.sub(" ", p)).strip() if only else p))
        group_text = " ".join(t for _, t in parts)
        g = judge(group_text, script, primary, second_opinion=totals[script] >= MINORITY_SHARE * n_letters)
        if script == "Han" and (totals.get("Kana") or totals.get("Hangul")):
            # Japanese and Korean text also use Han characters
            g["lang"] = "ja" if totals.get("Kana") else "ko"
        g["letters"] = totals[script]
        groups[script] = g
        for i, t in parts:
            n = para_scripts[i][script]
            lang = g["lang"]
            if (script in SCRIPT_CANDIDATES and n >= PARA_OWN_LETTERS and len(parts) > 1):
                votes = _function_word_votes(t.lower().split())
                if votes:
                    best, hits = votes.most_common(1)[0]
                    if best != lang and hits >= 3 and hits >= 2 * votes.get(lang, 0) + 1:
                        p = judge(t, script, primary)
                        if p["lang"] != lang:
                            own.append({"paragraph": i, "lang": p["lang"], "raw": p["raw"],
                                        "method": p["method"]})
                            lang = p["lang"]
            shares[lang] += n
    judged = sum(shares.values())
    kept = {k: v / judged for k, v in shares.items() if k != "und" and v / judged >= MIN_SHARE}
    if not kept:
        reason = groups[scripts[0]].get("reason", "undecided") if scripts else "undecided"
        return {"language": "und", "score": 0.0, "languages": {}, "reason": reason,
                "letters": n_letters}
    z = sum(kept.values())
    languages = {k: round(v / z, 4) for k, v in sorted(kept.items(), key=lambda kv: (-kv[1], kv[0]))}
    language = next(iter(languages))
    # confidence of the main language: from the group that said it (largest one)
    best = max((g for g in groups.values() if g["lang"] == language),
               key=lambda g: g["letters"], default=None)
    raw = best["raw"] if best else max(o["raw"] for o in own if o["lang"] == language)
    method = best["method"] if best else "paragraph"
    return {"language": language, "score": calibrate(raw), "raw": round(raw, 6),
            "languages": languages, "method": method, "letters": n_letters,
            "groups": {s: {k: v for k, v in g.items() if k != "letters"} for s, g in groups.items()},
            "paragraphs_judged_alone": own}


class LanguageStep(Step):
    name = "language"
    version = "2"  # 1 -> 2: the rules refined since the first release (see git log)

    def __init__(self, primary: tuple[str, ...] | list[str] | None = None):
        self.primary = frozenset(primary if primary is not None else PRIMARY)

    def process(self, doc: Document) -> Document:
        try:
            r = detect(doc.text if doc.text is not None else doc.content, self.primary)
        except Exception as exc:  # never lose a document over language detection
            r = {"language": "und", "score": 0.0, "languages": {},
                 "reason": f"error:{type(exc).__name__}"}
        doc.language = r["language"]
        doc.language_score = r["score"]
        doc.languages = r["languages"]
        prov = {k: v for k, v in r.items() if k not in ("language", "score", "languages")}
        prov.setdefault("method", "none")
        doc.provenance["language"] = prov
        return doc
