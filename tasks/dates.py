"""The date step: find date mentions and normalise them to ISO 8601.

:func:`find_dates` is one pass of compiled regular expressions over a *folded*
copy of the text (Eastern Arabic / Persian digits -> ASCII, alef/hamza forms ->
ا, ى -> ي, ة -> ه, Persian letters -> Arabic; diacritics, tatweel and
invisible marks removed with an offset map), so every mention's ``start``/
``end`` index the original text. A master pattern finds candidate starts; at
each one the grammar's sub-patterns are tried and the longest valid reading
wins (leftmost-longest, non-overlapping).

Grammar (Arabic, English, French):

- day [list/range] month [/ or (month)] [year] [tense] [time], with an
  optional weekday prefix: ``9 فبراير/ شباط 2000``, ``18 و19 يونيو الماضي``,
  ``13 سبتمبر (أيلول الجاري)``, ``19 juin 2024``, ``Wednesday, June 19, 2024``;
- month [dual] year / month + tense / dual month alone / cue + month:
  ``مارس/آذار 1949``, ``مايو/أيار الماضي``, ``يونيو/حزيران``, ``في يونيو``;
- years only with a cue: ``عام 2000`` (cue kept in the span), ``أعوام 1950 -
  1953`` (plural/preposition cue left out of the span), ``2000م``;
- Hijri: ``15 رمضان 1445 هـ`` -> Gregorian value, Hijri value in ``hijri``;
- numeric: ISO ``2024-06-19[ 14:49]`` and ``19/06/2024`` (day first; month
  first only when the first number cannot be a month);
- relative: ``أمس الجمعة``, ``اليوم الأربعاء``, ``يوم الجمعة``, bare weekday,
  ``أمس``, ``yesterday``, ``hier``.

Resolution against the reference date (see :func:`_resolve_year`): bare
weekday -> most recent such day on or before the reference (``الماضي`` ->
strictly before, ``المقبل`` -> strictly after); month/day without year ->
``الماضي`` most recent past, ``الجاري`` the reference's year, ``المقبل`` next,
no tense word -> the nearest occurrence (ties go to the past). Without a
reference such mentions keep their surface and granularity, ``value=None``.
"""
from __future__ import annotations

import bisect
import json
import re
from datetime import date, timedelta
from functools import lru_cache
from pathlib import Path
from typing import Any

from newsflow.document import DateMention, Document
from newsflow.pipeline import Step

__all__ = ["DateStep", "find_dates", "fold"]

DATA = Path(__file__).resolve().parent / "data" / "dates" / "names.json"

# ---------------------------------------------------------------- folding
_TRANS = str.maketrans({
    **{chr(0x0660 + i): str(i) for i in range(10)},  # Arabic-Indic digits
    **{chr(0x06F0 + i): str(i) for i in range(10)},  # Extended (Persian) digits
    "أ": "ا", "إ": "ا", "آ": "ا", "ٱ": "ا", "ى": "ي", "ة": "ه", "ی": "ي", "ې": "ي",
    "ے": "ي", "ک": "ك", "ہ": "ه", "ۀ": "ه", "ە": "ه", "\u00a0": " ", "\u202f": " ",
    "\u2007": " ", "\u2009": " ", "\u2019": "'",
})
# Removed before matching (length changes are undone with an offset map).
_STRIP = re.compile("[\u064b-\u065f\u0670\u0640\u200b-\u200f\u202a-\u202e\u2066-\u2069"
                    "\ufeff\u061c\u00ad\u0300-\u036f]+")
_MARKS = re.compile("[\u064b-\u065f\u0670\u0640\u0300-\u036f]+")


def fold(text: str) -> tuple[str, Any]:
    """Folded copy of ``text`` and an offset map (``None`` when lengths agree)."""
    t = text.translate(_TRANS)
    if not _STRIP.search(t):
        return t, None
    pieces, fstarts, ostarts = [], [], []
    last = flen = 0
    for m in _STRIP.finditer(t):
        if m.start() > last:
            fstarts.append(flen)
            ostarts.append(last)
            pieces.append(t[last:m.start()])
            flen += m.start() - last
        last = m.end()
    if last < len(t):
        fstarts.append(flen)
        ostarts.append(last)
        pieces.append(t[last:])
    return "".join(pieces), (fstarts, ostarts)


def _to_orig(pos: int, omap, text: str, *, end: bool = False) -> int:
    if omap is None:
        return pos
    fstarts, ostarts = omap
    if end:
        p = pos - 1
        i = bisect.bisect_right(fstarts, p) - 1
        o = ostarts[i] + (p - fstarts[i]) + 1
        m = _MARKS.match(text, o)  # keep a last letter's diacritics/tatweel
        return m.end() if m else o
    i = bisect.bisect_right(fstarts, pos) - 1
    return ostarts[i] + (pos - fstarts[i])


def _f(s: str) -> str:
    return _STRIP.sub("", s.translate(_TRANS)).lower()


# ---------------------------------------------------------------- data + patterns
_TENSE_PAST = ("الماضي", "الماضيه", "الماضيين", "الماضيتين", "المنصرم", "الفائت", "المنقضي", "السابق", "last", "dernier", "derniere")
_TENSE_NOW = ("الجاري", "الحالي", "this", "courant")
_TENSE_NEXT = ("المقبل", "المقبله", "المقبلين", "القادم", "القادمه", "القادمين", "next", "prochain", "prochaine")
_TENSES = {**{w: -1 for w in _TENSE_PAST}, **{w: 0 for w in _TENSE_NOW}, **{w: 1 for w in _TENSE_NEXT}}
_REL_DAYS = {"اليوم": 0, "امس": -1, "البارحه": -1, "غدا": 1, "امس الاول": -2, "اول امس": -2,
             "today": 0, "yesterday": -1, "tomorrow": 1, "aujourd'hui": 0, "hier": -1, "demain": 1,
             "avant-hier": -2}
# Relative words that are a date on their own (اليوم/غدا/today alone are too often
# "nowadays"/"became"/generic, so they need a weekday).
_BARE_REL = ("امس الاول", "اول امس", "امس", "البارحه", "yesterday", "tomorrow", "hier", "demain", "avant-hier")
# Cues that make a bare month a date (not kept in the span).
_MONTH_CUES = ("في", "شهر", "منذ", "خلال", "حتى", "مطلع", "اواخر", "اوائل", "منتصف", "اواسط", "بدايه",
               "نهايه", "بحلول", "مستهل", "غره", "in", "since", "until", "till", "by", "early", "late",
               "during", "before", "after", "en", "depuis", "début", "debut", "fin", "courant", "avant",
               "après", "apres", "mi", "mid")
# Singular year cues, kept in the span: "عام 2000".
_YEAR_CUES_STRONG = ("عام", "العام", "عامي", "سنه", "السنه", "سنتي", "year", "the year", "l'an", "l'année",
                     "l'annee", "année", "annee")
# Other year cues (prepositions, plurals), not kept in the span.
_YEAR_CUES_WEAK = ("في", "منذ", "حتى", "قبل", "بعد", "خلال", "مطلع", "اواخر", "اوائل", "منتصف", "نهايه",
                   "بدايه", "بحلول", "بين", "من", "اعوام", "الاعوام", "سنوات", "السنوات", "الفتره", "فتره",
                   "in", "since", "until", "by", "from", "between", "before", "after", "during", "early",
                   "late", "en", "depuis", "de", "entre", "avant", "après", "apres", "dès", "des",
                   "jusqu'en", "years", "années", "annees")
_UNITS = ("الاول", "الثاني", "الثالث", "الرابع", "الخامس", "السادس", "السابع", "الثامن", "التاسع")
# Ordinal day words, folded: "السابع من يناير" (only read before "من").
_ORDINALS = {
    **{w: i + 1 for i, w in enumerate(_UNITS)}, "العاشر": 10, "الحادي عشر": 11, "العشرين": 20, "الثلاثين": 30,
    **{f"{w} عشر": i + 12 for i, w in enumerate(_UNITS[1:])},
    **{f"{w} والعشرين": i + 21 for i, w in enumerate(("الحادي",) + _UNITS[1:])},
    "الحادي والثلاثين": 31, "الواحد والعشرين": 21, "الواحد والثلاثين": 31,
}
_PLURAL_YEAR_CUES = ("اعوام", "الاعوام", "سنوات", "السنوات", "years", "années", "annees")
# Cues that only introduce a range ("من 2000 شخص" is a count, "من 1950 إلى 1953" a range).
_RANGE_ONLY_CUES = ("بين", "من", "from", "between", "de", "entre")
# A 4-digit number followed by one of these is a count, not a year.
_COUNT_WORDS = ("مليون", "مليار", "الف", "دولار", "يورو", "جنيه", "ريال", "درهم", "دينار", "ليره", "شخص",
                "اشخاص", "قتيل", "جريح", "جندي", "طن", "كيلو", "كيلومتر", "متر", "مره", "حاله", "عائله",
                "اسره", "صاروخ", "مقاتل", "عنصر", "people", "cases", "times", "dollars", "euros", "km",
                "personnes", "morts", "fois", "tonnes")


def _alt(words) -> str:
    """A regex matching any of ``words`` (spaces match any white space), built
    as a character trie so that a failed match costs one character test."""
    trie: dict = {}
    for w in set(words):
        node = trie
        for ch in " ".join(w.split()):
            node = node.setdefault(ch, {})
        node[""] = {}

    def emit(node: dict) -> str:
        end = "" in node
        branches = []
        for ch in sorted(k for k in node if k):
            head = r"\s+" if ch == " " else re.escape(ch)
            branches.append(head + emit(node[ch]))
        if not branches:
            return ""
        body = branches[0] if len(branches) == 1 and not end else "(?:" + "|".join(branches) + ")"
        if end:
            body = body + "?" if len(branches) == 1 and branches[0][:1] != "(" and len(branches[0]) == 1 \
                else "(?:" + "|".join(branches) + ")?"
        return body

    return "(?:" + emit(trie) + ")"


@lru_cache(maxsize=1)
def _grammar():
    data = json.loads(DATA.read_text(encoding="utf-8"))
    months: dict[str, int] = {}
    for lang, table in data["months"].items():
        for m, names in table.items():
            for n in names:
                key = " ".join(_f(n).split())
                if months.setdefault(key, int(m)) != int(m):
                    raise ValueError(f"month name {n!r} maps to two months")
    hijri = {" ".join(_f(n).split()): int(m) for m, names in data["hijri_months"].items() for n in names}
    weekdays = {_f(n): int(d) for table in data["weekdays"].values() for d, ns in table.items() for n in ns}
    weak = {_f(w): None for w in data["weak_months"]}
    weak.update(data.get("cased_months", {}))  # name -> the only spelling accepted bare

    L = r"(?:(?<!\w)|(?<=(?<!\w)[وفبل]))"  # word start, after an optional Arabic proclitic
    R = r"(?!\w)"
    ABBR = r"(?:(?<=[a-zé])\.)?"  # "Jan.", "sept."
    MON = L + _alt(months) + R + ABBR
    LATMON = L + _alt(k for k in months if not re.search("[\u0600-\u06ff]", k)) + R + ABBR
    HMON = L + _alt(hijri) + R
    WD = L + _alt(weekdays) + R
    TENSE = _alt(_TENSES) + R
    DAY = r"(?<![0-9])(?:3[01]|[12][0-9]|0?[1-9])(?:er|st|nd|rd|th)?(?![0-9])"
    YEAR0 = r"(?:1[0-9]|2[01])[0-9]{2}"  # inside numeric dates
    YEAR = r"(?<![0-9.,])" + YEAR0 + r"(?![0-9]|[.,][0-9]|[-/][0-9]{1,2}(?![0-9]))"  # not the head of 2024-06-19
    GMARK = r"(?:\s?م(?!\w))"
    YMARK = r"(?:\s?(?:م|ه|هجري|هجريه|للهجره)(?!\w))"  # Gregorian / Hijri era marks
    YSEP = r"\s*(?:[-–—/]|و|الى|حتى|and|to|à|a|et)\s*"
    DSEP = r"\s*(?:[-–—,،/&]|و|and|et|to|au|الى|حتى)\s*"
    TIME = (r"(?:\s*[,،]?\s*(?:(?:الساعه|at|à|a)\s+)?(?P<hh>[01]?[0-9]|2[0-3])[:h](?P<mi>[0-5][0-9])"
            r"(?![0-9])(?::[0-5][0-9])?(?:\s*(?P<ampm>[ap]\.?m\.?)(?!\w))?)?")
    MONEXPR = (r"(?P<m1>" + MON + r")(?:\s*(?P<sep>[/\\|–—-])\s*(?P<m2>" + MON + r")"
               r"|\s*\(\s*(?P<mb>" + MON + r")(?:\s*[,،]?\s*(?P<by>" + YEAR + r"))?(?:\s+(?P<bt>" + TENSE + r"))?\s*\))?")
    WDPRE = r"(?:(?P<wdx>(?P<wd>" + WD + r"))\s*[,،]?\s+(?:(?:le|the)\s+)?)?"
    YTAIL = r"(?:(?:\s*[,،/-]?\s*|\s+(?:من\s+)?(?:عام|العام|سنه|السنه)\s+)(?P<y>" + YEAR + r")(?P<ym>" + GMARK + r")?)?(?:\s+(?P<t>" + TENSE + r"))?"
    HMARK = r"(?:\s*(?P<hmk>ه|هجري|هجريه|للهجره)" + R + ")?"
    subs = {
        "dmy": WDPRE + r"(?P<core>(?:(?P<days>" + DAY + r"(?:" + DSEP + DAY + r")*)|(?P<ord>" + L + _alt(_ORDINALS)
               + r")(?=\s+من\s))(?:\s*-\s*|\s*(?:من\s+)?(?:شهر\s+)?(?:of\s+)?)"
               + MONEXPR + YTAIL + TIME + ")",
        "dmdm": r"(?P<core>(?P<d1>" + DAY + r")\s+(?P<m1>" + MON + r")(?:\s*[,،]?\s*(?P<y1>" + YEAR + r"))?"
                r"\s*(?P<rs>[-–—]|الى|حتى|to|au|و|and|et)\s*(?P<d2>" + DAY + r")\s+(?P<m2>" + MON + r")"
                r"(?:\s*[,،]?\s*(?P<y>" + YEAR + r"))?(?:\s+(?P<t>" + TENSE + r"))?)",
        "mdy": WDPRE + r"(?P<core>(?P<m1>" + LATMON + r")\s+(?P<days>" + DAY + r"(?:\s*(?:[-–]|and|to)\s*" + DAY
               + r")?)(?:\s*,?\s*(?P<y>" + YEAR + r"))?" + TIME + ")",
        "my": r"(?P<core>(?:(?P<pt>last|next|this)\s+)?" + MONEXPR + YTAIL + ")",
        "ycue": r"(?P<core>(?P<cue>" + L + _alt(_YEAR_CUES_STRONG) + r")\s+(?P<y>" + YEAR + r")(?P<ym>" + YMARK
                + r")?(?:" + YSEP + r"(?P<y2>" + YEAR + r")" + YMARK + r"?)?)",
        "year": r"(?P<core>(?P<y>" + YEAR + r")(?P<ym>" + YMARK + r")?(?:" + YSEP + r"(?P<y2>" + YEAR + r")"
                + YMARK + r"?)?)",
        "hijri": WDPRE + r"(?P<core>(?:(?P<days>" + DAY + r")\s+(?:من\s+)?)?(?:شهر\s+)?(?P<hm>" + HMON
                 + r")(?:\s*[,،]?\s*(?P<y>(?<![0-9])[0-9]{3,4}(?![0-9]))" + HMARK + r")?)",
        "iso": WDPRE + r"(?P<core>(?<![\w/.-])(?P<y>" + YEAR0 + r")(?P<s>[-/])(?P<mo>[0-9]{1,2})(?P=s)(?P<d>[0-9]{1,2})"
               r"(?![0-9]|[/.-][0-9])(?:T(?=[0-9]))?" + TIME + ")",
        "num": WDPRE + r"(?P<core>(?<![\w/.-])(?P<d>[0-9]{1,2})(?P<s>[/.-])(?P<mo>[0-9]{1,2})(?P=s)(?P<y>" + YEAR0
               + r")(?![0-9]|[/.-][0-9])" + TIME + ")",
        "rel": r"(?P<core>(?:(?P<pt>last|next|this)\s+)?(?:(?P<rel>" + L + _alt(_REL_DAYS)
               + r")\s*[,،]?\s+)?(?P<wd>" + WD + r")(?:\s+(?P<t>" + TENSE + r"))?)",
        "bare": r"(?P<core>(?P<rel>" + L + _alt(_BARE_REL) + R + r"))",
    }
    flags = re.IGNORECASE
    compiled = {k: re.compile(v, flags) for k, v in subs.items()}
    # Where a mention can start: a digit, or one of these words. Sub-patterns are
    # only tried there (digit-led ones at digits, word-led ones at words).
    words = (list(months) + list(hijri) + list(weekdays) + list(_REL_DAYS) + list(_BARE_REL)
             + list(_YEAR_CUES_STRONG) + list(_ORDINALS) + ["last", "next", "this"])
    master = re.compile(r"(?<![0-9])[0-9]|" + L + _alt(words) + R, flags)
    by_digit = [(k, compiled[k]) for k in ("dmy", "dmdm", "year", "hijri", "iso", "num")]
    by_word = [(k, compiled[k]) for k in ("dmy", "mdy", "my", "ycue", "hijri", "rel", "bare", "iso", "num")]
    cues = {
        "month": re.compile(L + _alt(_MONTH_CUES) + r"(?:\s+|-)$", flags),
        "year": re.compile(L + r"(?P<c>" + _alt(_YEAR_CUES_WEAK) + r")\s+$", flags),
        "range": re.compile(L + _alt(("بين", "between", "entre")) + r"\s+$", flags),
        "yawm": re.compile(L + r"يوم\s+$"),
    }
    return master, (by_digit, by_word), months, hijri, weekdays, weak, cues


# ---------------------------------------------------------------- resolution
def _iso(y: int, m: int | None = None, d: int | None = None) -> str:
    if m is None:
        return f"{y:04d}"
    if d is None:
        return f"{y:04d}-{m:02d}"
    return f"{y:04d}-{m:02d}-{d:02d}"


def _valid(y: int, m: int, d: int) -> bool:
    try:
        date(y, m, d)
        return True
    except ValueError:
        return False


def _resolve_year(month: int, day: int | None, ref: date, tense: int | None) -> int:
    """Year of a month (or month+day) given without one, relative to ``ref``.

    tense -1 (الماضي): most recent occurrence strictly before the reference
    (month: before the reference month); 0 (الجاري): the reference's year;
    +1 (المقبل): next occurrence strictly after; None: the nearest occurrence
    to the reference, ties to the past.
    """
    if tense == 0:
        return ref.year
    key = (month, day or 0)
    rkey = (ref.month, ref.day if day else 0)
    if tense == -1:
        return ref.year if key < rkey else ref.year - 1
    if tense == 1:
        return ref.year if key > rkey else ref.year + 1
    best = None
    for y in (ref.year - 1, ref.year, ref.year + 1):
        d = day if day and _valid(y, month, day) else 15
        dist = abs((date(y, month, min(d, 28) if not _valid(y, month, d) else d) - ref).days)
        if best is None or dist < best[0]:
            best = (dist, y)
    return best[1]


def _weekday_date(wd: int, ref: date, tense: int | None, anchor: int | None) -> date:
    if anchor is not None:  # "اليوم/أمس/غدا + weekday": the day word wins, weekday checks it
        return ref + timedelta(days=anchor)
    back = (ref.weekday() - wd) % 7
    if tense == 1:
        return ref + timedelta(days=(wd - ref.weekday()) % 7 or 7)
    if tense == -1:
        return ref - timedelta(days=back or 7)
    return ref - timedelta(days=back)


def _hijri_to_greg(y: int, m: int, d: int) -> date | None:
    try:
        from hijridate import Hijri

        return Hijri(y, m, d).to_gregorian()
    except (ValueError, OverflowError, ImportError):
        return None


def _hijri_month_len(y: int, m: int) -> int | None:
    try:
        from hijridate import Hijri

        return Hijri(y, m, 1).month_length()
    except (ValueError, OverflowError, ImportError):
        return None


# ---------------------------------------------------------------- readers
def _num(s: str) -> int:
    return int(re.match(r"[0-9]+", s).group())


def _tense(word: str | None) -> int | None:
    return _TENSES.get(" ".join(word.lower().split())) if word else None


class _Cand:
    __slots__ = ("start", "end", "value", "gran", "relative", "calendar", "hijri", "partial", "kind")

    def __init__(self, start, end, value, gran, relative=False, calendar="gregorian", hijri=None,
                 partial=False, kind=""):
        self.start, self.end, self.value, self.gran = start, end, value, gran
        self.relative, self.calendar, self.hijri, self.partial, self.kind = relative, calendar, hijri, partial, kind


def _month_of(g: dict, months: dict, name: str) -> int | None:
    s = g.get(name)
    return months.get(" ".join(s.lower().rstrip(".").split())) if s else None


def _with_time(value: str, g: dict) -> tuple[str, str]:
    if g.get("hh") is None:
        return value, "day"
    hh = int(g["hh"])
    ap = (g.get("ampm") or "").lower()
    if ap.startswith("p") and hh < 12:
        hh += 12
    elif ap.startswith("a") and hh == 12:
        hh = 0
    return f"{value}T{hh:02d}:{g['mi']}", "minute"


def _read(kind: str, m: re.Match, ref: date | None, G) -> _Cand | None:
    months, hijri, weekdays, weak, cues = G[2:]
    g = m.groupdict()
    start, end = m.start("core"), m.end("core")
    folded = m.string
    if g.get("wdx") and kind in ("dmy", "mdy", "hijri", "iso", "num"):
        start = m.start("wdx")

    def before(cue: str):
        return cues[cue].search(folded, max(0, start - 30), start)

    if kind in ("dmy", "my", "mdy"):
        m1 = _month_of(g, months, "m1")
        m2 = _month_of(g, months, "m2") or _month_of(g, months, "mb")
        if m1 is None:
            return None
        mrange = m2 if (g.get("m2") and m2 != m1 and g.get("sep") in ("-", "–", "—")) else None
        if g.get("m2") and m2 != m1 and mrange is None:
            return None  # "يونيو/يوليو": neither a dual form nor a range we can read
        y = int(g["y"]) if g.get("y") else (int(g["by"]) if g.get("by") else None)
        tense = _tense(g.get("t")) if g.get("t") else _tense(g.get("bt"))
        if g.get("pt"):
            tense = _tense(g["pt"])
        if kind == "my":
            dual = bool(g.get("m2") or g.get("mb"))
            if not (y or tense is not None or dual or before("month")):
                return None
            w1 = _f(g["m1"]).rstrip(".")
            if not (y or dual) and w1 in weak and weak[w1] != g["m1"].rstrip("."):
                return None  # "mar", "may", "Mars", "آب" without a day or year are not dates
            if y is None:
                if ref is None:
                    return _Cand(start, end, None, "month", partial=True, kind=kind)
                if mrange:
                    y = _resolve_year(m1, None, ref, tense)
                    return _Cand(start, end, f"{_iso(y, m1)}/{_iso(y, mrange)}", "month", partial=True, kind=kind)
                return _Cand(start, end, _iso(_resolve_year(m1, None, ref, tense), m1), "month", partial=True,
                             kind=kind)
            if mrange:
                return _Cand(start, end, f"{_iso(y, m1)}/{_iso(y, mrange)}", "month", kind=kind)
            return _Cand(start, end, _iso(y, m1), "month", kind=kind)
        if mrange:
            return None  # "5 يناير - مارس": not a shape we read
        days = [_ORDINALS[" ".join(_f(g["ord"]).split())]] if g.get("ord") else \
            [int(x) for x in re.findall(r"[0-9]+", g["days"])]
        if len(days) > 1 and (days != sorted(days) or len(set(days)) != len(days)):
            return None
        first, last = days[0], days[-1]
        partial = y is None
        if y is None:
            if ref is None:
                return _Cand(start, end, None, "day", partial=True, kind=kind)
            y = _resolve_year(m1, first, ref, tense)
        if not (_valid(y, m1, first) and _valid(y, m1, last)):
            return None
        if first != last:
            return _Cand(start, end, f"{_iso(y, m1, first)}/{_iso(y, m1, last)}", "day", partial=partial, kind=kind)
        value, gran = _with_time(_iso(y, m1, first), g)
        return _Cand(start, end, value, gran, partial=partial, kind=kind)
    if kind == "dmdm":
        if g["rs"].lower() in ("و", "and", "et") and not before("range"):
            return None  # "3 مارس و5 مايو" is a list; "بين 3 مارس و5 مايو" a range
        m1, m2 = _month_of(g, months, "m1"), _month_of(g, months, "m2")
        d1, d2 = _num(g["d1"]), _num(g["d2"])
        y2 = int(g["y"]) if g.get("y") else None
        y1 = int(g["y1"]) if g.get("y1") else (y2 - (1 if y2 and (m1, d1) > (m2, d2) else 0) if y2 else None)
        if y2 is None:
            if ref is None:
                return _Cand(start, end, None, "day", partial=True, kind=kind)
            y2 = _resolve_year(m2, d2, ref, _tense(g.get("t")))
            y1 = y2 - (1 if (m1, d1) > (m2, d2) else 0)
        if not (_valid(y1, m1, d1) and _valid(y2, m2, d2)) or date(y1, m1, d1) >= date(y2, m2, d2):
            return None
        return _Cand(start, end, f"{_iso(y1, m1, d1)}/{_iso(y2, m2, d2)}", "day", partial=g.get("y") is None,
                     kind=kind)
    if kind in ("ycue", "year"):
        y = int(g["y"])
        y2 = int(g["y2"]) if g.get("y2") else None
        mark = (g.get("ym") or "").strip()
        if y2 is not None and not (y < y2 <= y + 200):
            return None
        nxt = re.match(r"\s*(\w+)", folded[end:end + 30])
        counted = bool(nxt and nxt.group(1).lower() in _COUNT_WORDS)
        if kind == "year" and not mark:
            cm = before("year")
            bracketed = y2 is not None and re.search(r"\(\s*$", folded[max(0, start - 3):start]) \
                and re.match(r"\s*\)", folded[end:end + 3])
            if not (cm or bracketed):
                return None  # a bare number is a year only with a cue
            if cm and y2 is None:
                cue = " ".join(cm.group("c").lower().split())
                if cue in _RANGE_ONLY_CUES or cue in _PLURAL_YEAR_CUES or not 1900 <= y <= 2100 or counted:
                    return None
        elif y2 is None and not mark and counted:
            return None
        if mark and mark != "م":  # Hijri year(s): the Gregorian days they cover
            first = _hijri_to_greg(y, 1, 1)
            last_y = y2 or y
            n = _hijri_month_len(last_y, 12)
            lastd = _hijri_to_greg(last_y, 12, n) if n else None
            value = f"{first.isoformat()}/{lastd.isoformat()}" if first and lastd else None
            return _Cand(start, end, value, "day", calendar="hijri",
                         hijri=f"{_iso(y)}/{_iso(y2)}" if y2 else _iso(y), kind=kind)
        return _Cand(start, end, f"{_iso(y)}/{_iso(y2)}" if y2 else _iso(y), "year", kind=kind)
    if kind == "hijri":
        hm = hijri.get(" ".join(g["hm"].split()))
        day = _num(g["days"]) if g.get("days") else None
        hy = int(g["y"]) if g.get("y") else None
        if hm is None or (day is None and hy is None):
            return None
        if hy is None:
            if ref is None:
                return _Cand(start, end, None, "day", calendar="hijri", partial=True, kind=kind)
            from hijridate import Gregorian

            try:
                rh = Gregorian(ref.year, ref.month, ref.day).to_hijri()
            except (ValueError, OverflowError):
                return _Cand(start, end, None, "day", calendar="hijri", partial=True, kind=kind)
            cands = [(abs(((_hijri_to_greg(y, hm, day) or ref) - ref).days), y) for y in
                     (rh.year - 1, rh.year, rh.year + 1) if _hijri_to_greg(y, hm, day)]
            if not cands:
                return None
            hy = min(cands)[1]
        if day is not None:
            if day > 30:
                return None
            gd = _hijri_to_greg(hy, hm, day)
            return _Cand(start, end, gd.isoformat() if gd else None, "day", calendar="hijri",
                         hijri=_iso(hy, hm, day), partial=g.get("y") is None, kind=kind)
        first = _hijri_to_greg(hy, hm, 1)
        n = _hijri_month_len(hy, hm)
        value = f"{first.isoformat()}/{(first + timedelta(days=n - 1)).isoformat()}" if first and n else None
        return _Cand(start, end, value, "day", calendar="hijri", hijri=_iso(hy, hm), kind=kind)
    if kind in ("iso", "num"):
        y, mo, d = int(g["y"]), int(g["mo"]), int(g["d"])
        if kind == "num" and mo > 12 and d <= 12:
            mo, d = d, mo  # 06/19/2024: month first only when day-first is impossible
        if not _valid(y, mo, d):
            return None
        value, gran = _with_time(_iso(y, mo, d), g)
        return _Cand(start, end, value, gran, kind=kind)
    if kind == "rel":
        wd = weekdays.get(_f(g["wd"]))
        rel = g.get("rel")
        anchor = _REL_DAYS.get(" ".join(_f(rel).split())) if rel else None
        tense = _tense(g.get("t")) if g.get("t") else (_tense(g["pt"]) if g.get("pt") else None)
        kind = "relday" if (rel or g.get("pt")) else kind  # "أمس الجمعة": no "يوم" before it
        if ref is None or wd is None:
            return _Cand(start, end, None, "day", relative=True, partial=True, kind=kind)
        return _Cand(start, end, _weekday_date(wd, ref, tense, anchor).isoformat(), "day", relative=True,
                     partial=True, kind=kind)
    if kind == "bare":
        anchor = _REL_DAYS.get(" ".join(_f(g["rel"]).split()))
        if ref is None or anchor is None:
            return _Cand(start, end, None, "day", relative=True, partial=True, kind=kind)
        return _Cand(start, end, (ref + timedelta(days=anchor)).isoformat(), "day", relative=True, partial=True,
                     kind=kind)
    return None


def _as_date(ref) -> date | None:
    if ref is None or isinstance(ref, date):
        return ref
    try:
        return date.fromisoformat(str(ref).strip()[:10])
    except ValueError:
        return None


def _scan(text: str, ref: date | None) -> tuple[list[_Cand], Any]:
    G = _grammar()
    master, (by_digit, by_word) = G[0], G[1]
    yawm = G[6]["yawm"]
    folded, omap = fold(text)
    out: list[_Cand] = []
    pos = 0
    n = len(folded)
    while pos < n:
        mm = master.search(folded, pos)
        if mm is None:
            break
        s = mm.start()
        best = None
        for kind, pat in (by_digit if folded[s].isdigit() else by_word):
            m = pat.match(folded, s)
            if m is None:
                continue
            c = _read(kind, m, ref, G)
            if c is not None and (best is None or c.end > best.end):
                best = c
        if best is None:
            pos = mm.end() if mm.end() > s + 1 and not folded[s].isdigit() else s + 1
            continue
        e = best.end  # trim spaces/commas an optional tail may have eaten
        while e > best.start and folded[e - 1] in " \t\n,،":
            e -= 1
        best.end = e
        if best.kind in ("rel", "dmy", "mdy", "hijri", "iso", "num") and folded[best.start] not in "0123456789":
            y = yawm.search(folded, max(0, best.start - 12), best.start)  # "يوم الجمعة"
            if y and (not out or out[-1].end <= y.start()):
                best.start = y.start()
        out.append(best)
        pos = max(e, s + 1)
    return out, omap


def find_dates(text: str, reference=None, lang: str | None = None) -> list[DateMention]:
    """Date mentions of ``text`` in text order, non-overlapping.

    ``reference`` (a ``date`` or ``YYYY-MM-DD`` string) resolves partial and
    relative mentions; without it they get ``value=None``. ``lang`` is accepted
    for interface symmetry: the grammar covers Arabic, English and French at once.
    """
    if not text or not isinstance(text, str):
        return []
    ref = _as_date(reference)
    mentions = []
    cands, omap = _scan(text, ref)
    for c in cands:
        start = _to_orig(c.start, omap, text)
        end = _to_orig(c.end, omap, text, end=True)
        mentions.append(DateMention(text=text[start:end], value=c.value, granularity=c.gran, start=start, end=end,
                                    relative=c.relative, calendar=c.calendar, hijri=c.hijri))
    return mentions


# ---------------------------------------------------------------- the step
_PUB_CUE = re.compile(r"(?:نشر|تاريخ\s+النشر|بتاريخ|published|posted|updated|publié|mis\s+à\s+jour)\W{0,6}"
                      r"(?:\w+\W{1,3}){0,2}$", re.IGNORECASE)


def dateline_published(text: str, head: int = 1000) -> str | None:
    """The publication date/time from a dateline near the top of ``text``:
    a full date preceded by a publication cue (``نشر في``, ``Published``,
    ``Publié le`` ...), within the first ``head`` characters."""
    top = text[:head]
    for d in find_dates(top):
        if d.value and d.granularity in ("day", "minute") and "/" not in d.value and not d.relative:
            before = _f(top[max(0, d.start - 40):d.start])
            if _PUB_CUE.search(before):
                return d.value
    return None


class DateStep(Step):
    name = "dates"
    version = "2"  # 1 -> 2: the rules refined since the first release (see git log)

    def __init__(self, find_published: bool = True):
        self.find_published = find_published

    def process(self, doc: Document) -> Document:
        text = doc.text or ""
        prov: dict[str, Any] = {"reference": None, "reference_source": None}
        if doc.published is None and self.find_published and text:
            pub = dateline_published(text)
            if pub:
                doc.published, doc.published_source = pub, "dateline"
                prov["published_from"] = "dateline"
        ref = _as_date(doc.published) if doc.published else None
        if ref is not None:
            prov["reference"], prov["reference_source"] = ref.isoformat(), "published"
        else:
            ref = _as_date(doc.reference_date)
            if ref is not None:
                prov["reference"], prov["reference_source"] = ref.isoformat(), "caller"
        doc.dates = find_dates(text, ref)
        prov["count"] = len(doc.dates)
        prov["unresolved"] = sum(1 for d in doc.dates if d.value is None)
        doc.provenance["dates"] = prov
        return doc
