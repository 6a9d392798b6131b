"""Datelines and bylines: recognise them, take the date/publisher/author, so
the clean step can drop them from the body.

Handles numeric dates (``2024-06-19 الساعة 14:49``, ``19/06/2024 - 14:49``,
``2024.06.19``), and day-month-year with month names in Arabic (both the
Egyptian/Gulf and the Levantine names), English and French. Eastern Arabic
digits are folded first.
"""
from __future__ import annotations

import re
from dataclasses import dataclass

_DIGITS = str.maketrans({**{chr(0x0660 + i): str(i) for i in range(10)},
                         **{chr(0x06F0 + i): str(i) for i in range(10)}})

MONTHS: dict[str, int] = {}
for _i, _names in enumerate([
    "يناير كانون الثاني january jan janvier janv",
    "فبراير شباط february feb février fevrier févr",
    "مارس آذار اذار march mar mars",
    "أبريل ابريل إبريل نيسان april apr avril avr",
    "مايو أيار ايار may mai",
    "يونيو يونية حزيران june jun juin",
    "يوليو يولية تموز july jul juillet juil",
    "أغسطس اغسطس آب اب august aug août aout",
    "سبتمبر أيلول ايلول september sep sept septembre",
    "أكتوبر اكتوبر تشرين الأول october oct octobre",
    "نوفمبر تشرين الثاني november nov novembre",
    "ديسمبر كانون الأول december dec décembre decembre déc",
], start=1):
    for _n in _names.split():
        MONTHS.setdefault(_n, _i)
# two-word Levantine names must win over their first word
MONTHS.update({"كانون الثاني": 1, "كانون الأول": 12, "كانون الاول": 12, "تشرين الأول": 10,
               "تشرين الاول": 10, "تشرين الثاني": 11})
for _bad in ("تشرين", "كانون", "الثاني", "الأول", "الاول", "may", "mar", "mai"):
    MONTHS.pop(_bad, None)
_MONTH_RE = "|".join(sorted((re.escape(m) for m in MONTHS), key=len, reverse=True))
_MAYBE_MONTH = r"(?:may|mar|mai)"

_TIME = r"(?:\s*(?:الساعة|الساعه|ساعة|at|à|a|-|–|,|\||T|@)?\s*(?P<H>\d{1,2})[:h](?P<M>\d{2})(?::\d{2})?\s*(?P<ampm>am|pm|a\.m\.|p\.m\.|ص|م)?)?"
_ISO = re.compile(r"(?<!\d)(?P<y>(?:19|20)\d{2})[-/.](?P<m>\d{1,2})[-/.](?P<d>\d{1,2})(?!\d)" + _TIME, re.I)
_DMY = re.compile(r"(?<!\d)(?P<d>\d{1,2})[-/.](?P<m>\d{1,2})[-/.](?P<y>(?:19|20)\d{2})(?!\d)" + _TIME, re.I)
_DMONY = re.compile(
    r"(?<!\d)(?P<d>\d{1,2})(?:er)?\s*(?P<mon>" + _MONTH_RE + "|" + _MAYBE_MONTH + r")\.?"
    r"(?:\s*[/(]\s*(?:" + _MONTH_RE + r")\s*\)?)?,?\s*(?P<y>(?:19|20)\d{2})(?!\d)" + _TIME, re.I)
_MONDY = re.compile(
    r"(?<![\w])(?P<mon>" + _MONTH_RE + "|" + _MAYBE_MONTH + r")\.?\s+(?P<d>\d{1,2})(?:st|nd|rd|th)?,?\s+"
    r"(?P<y>(?:19|20)\d{2})(?!\d)" + _TIME, re.I)

# words that say "this line is about publication"
_PUB_CUE = re.compile(
    r"(نشر|تاريخ النشر|آخر تحديث|اخر تحديث|تحديث|محدث|منذ|published|posted|updated|last updated|"
    r"publié|publie|mis à jour|modifié|le\b|on\b|date)", re.I)
_UPDATED = re.compile(r"(تحديث|محدث|updated|mis à jour|modifié)", re.I)
_SEP = re.compile(r"\s+[ـ\-–—|:]\s*|\s*[ـ–—|]\s+")
_BYLINE = re.compile(
    r"^\s*(?:by|written by|reporting by|par|auteur|author|بقلم|كتب|كتبت|كتبه|إعداد|اعداد|تقرير|تحرير)\s*[:：]?\s+(?P<name>.+)$",
    re.I)
_WORD = re.compile(r"\w+", re.U)
_DIGIT = re.compile(r"\d")


@dataclass
class DateHit:
    value: str  # ISO: YYYY-MM-DD or YYYY-MM-DDTHH:MM
    start: int
    end: int


def find_date(text: str) -> DateHit | None:
    """First calendar date (with time when given) in ``text``."""
    s = text.translate(_DIGITS)
    if not _DIGIT.search(s):  # every date pattern has a year: most lines stop here
        return None
    hits = []
    for rx in (_ISO, _DMY, _DMONY, _MONDY):
        m = rx.search(s)
        if m:
            hits.append((m.start(), rx, m))
    for _, rx, m in sorted(hits, key=lambda h: h[0]):
        try:
            y = int(m.group("y"))
            d = int(m.group("d"))
            if rx in (_ISO, _DMY):
                mo = int(m.group("m"))
                if rx is _DMY and mo > 12 and d <= 12:  # US order 06/19/2024
                    d, mo = mo, d
            else:
                mo = MONTHS.get(m.group("mon").lower()) or {"may": 5, "mai": 5, "mar": 3}[m.group("mon").lower()]
            if not (1 <= mo <= 12 and 1 <= d <= 31):
                continue
            value = f"{y:04d}-{mo:02d}-{d:02d}"
            if m.group("H") is not None:
                hh, mm = int(m.group("H")), int(m.group("M"))
                ampm = (m.group("ampm") or "").lower().replace(".", "")
                if ampm in ("pm", "م") and hh < 12:
                    hh += 12
                elif ampm in ("am", "ص") and hh == 12:
                    hh = 0
                if hh < 24 and mm < 60:
                    value += f"T{hh:02d}:{mm:02d}"
            return DateHit(value, m.start(), m.end())
        except (ValueError, KeyError):
            continue
    return None


@dataclass
class Dateline:
    date: str
    publisher: str | None = None
    updated: bool = False


def parse_dateline(text: str, max_words: int = 16) -> Dateline | None:
    """A short line that states when (and by whom) the article was published.

    ``نيسان ـ نشر في 2024-06-19 الساعة 14:49`` -> date 2024-06-19T14:49, publisher نيسان.
    """
    words = _WORD.findall(text)
    if not words or len(words) > max_words:
        return None
    hit = find_date(text)
    if hit is None:
        return None
    s = text.translate(_DIGITS)
    rest = (s[: hit.start] + " " + s[hit.end:]).strip()
    rest_words = _WORD.findall(rest)
    cue = _PUB_CUE.search(rest)
    if len(rest_words) > 4 and (not cue or len(rest_words) > 9 or text.rstrip().endswith((".", "!", "?", "؟"))):
        return None
    publisher = None
    head = s[: hit.start]
    if cue and cue.start() < hit.start:
        head = s[: cue.start()]
    m = _SEP.search(head)
    if m:
        cand = head[: m.start()].strip(" -–—ـ|:،,")
        cw = _WORD.findall(cand)
        if 1 <= len(cw) <= 4 and not any(ch.isdigit() for ch in cand):
            publisher = cand
    return Dateline(hit.value, publisher, bool(_UPDATED.search(rest)) and not re.search(r"نشر|publi|posted", rest, re.I))


def parse_byline(text: str, max_words: int = 12) -> str | None:
    """``By Jane Doe`` / ``بقلم: فلان`` / ``Par Jean Dupont`` -> the name."""
    m = _BYLINE.match(text.strip())
    if not m:
        return None
    words = _WORD.findall(text)
    if not words or len(words) > max_words:
        return None
    name = m.group("name")
    hit = find_date(name)
    if hit:
        name = name[: hit.start]
        name = re.sub(r"(?:[,،]\s*|\s+)(?:le|on|du|at|في|يوم)?\s*$", "", name, flags=re.I)
    name = re.split(r"\s[|•·]\s|\s[-–—ـ]\s|,\s*(?:updated|published)", name, maxsplit=1, flags=re.I)[0]
    name = name.strip(" -–—ـ|:،,.")
    if not name or len(_WORD.findall(name)) > 6 or name.endswith((".", "؟", "?", "!")):
        return None
    return name
