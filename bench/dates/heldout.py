"""Held-out date expressions built from Unicode CLDR month names (via babel).

Every Arabic locale in CLDR (``ar`` and ``ar_*``), every month, every distinct
wide/abbreviated, format/stand-alone name, in these forms, each embedded in a
short Arabic sentence:

- ``dmy``            ``7 يناير 2011``
- ``my``             ``يناير 2011``
- ``dmy_eastern``    ``٧ يناير ٢٠١١`` (Arabic-Indic digits)
- ``my_eastern``     ``يناير ٢٠١١``
- ``dmy_persian``    ``۷ يناير ۲۰۱۱`` (Persian digits)
- ``dual_slash``     ``7 يناير/كانون الثاني 2011`` (the same month under another locale's name)
- ``dual_bracket``   ``يناير (كانون الثاني) 2011``
- ``dual_space``     ``7 كانون الثاني/ جانفي ٢٠١١``

Days, years and sentence templates are drawn with a fixed seed, so the set is
the same on every run. The date step's own name list is *not* used here: names
come straight from babel, so a name the step does not know counts as a miss.
"""
from __future__ import annotations

import random

TEMPLATES = (
    "وقع الحادث في {} حسب مصادر محلية.",
    "أعلنت الوزارة، {}، عن خطة جديدة للقطاع.",
    "وقّع الطرفان الاتفاق بتاريخ {} في العاصمة.",
    "وكانت اللجنة قد اجتمعت {} لمناقشة الملف.",
)
_EAST = str.maketrans("0123456789", "٠١٢٣٤٥٦٧٨٩")
_PERS = str.maketrans("0123456789", "۰۱۲۳۴۵۶۷۸۹")


def cldr_arabic_month_names() -> dict[str, dict[int, list[str]]]:
    from babel import Locale, localedata

    out: dict[str, dict[int, list[str]]] = {}
    for loc in sorted(l for l in localedata.locale_identifiers() if l == "ar" or l.startswith("ar_")):
        L = Locale.parse(loc)
        names: dict[int, list[str]] = {m: [] for m in range(1, 13)}
        for ctx in ("format", "stand-alone"):
            for width in ("wide", "abbreviated"):
                for m, n in L.months[ctx][width].items():
                    n = " ".join(n.split())
                    if len(n) > 1 and n not in names[m]:
                        names[m].append(n)
        out[loc] = names
    return out


def generate(seed: int = 2024) -> list[dict]:
    rng = random.Random(seed)
    by_locale = cldr_arabic_month_names()
    every = {m: sorted({n for names in by_locale.values() for n in names[m]}) for m in range(1, 13)}
    items: list[dict] = []
    seen: set[str] = set()
    for loc, names in by_locale.items():
        for m in range(1, 13):
            others = every[m]
            for name in names[m]:
                partner = [n for n in others if n != name]
                p = partner[(others.index(name)) % len(partner)] if partner else name
                d, y = rng.randint(1, 28), rng.randint(1950, 2030)
                day, month = f"{y:04d}-{m:02d}-{d:02d}", f"{y:04d}-{m:02d}"
                forms = [
                    ("dmy", f"{d} {name} {y}", day, "day"),
                    ("my", f"{name} {y}", month, "month"),
                    ("dmy_eastern", f"{d} {name} {y}".translate(_EAST), day, "day"),
                    ("my_eastern", f"{name} {y}".translate(_EAST), month, "month"),
                    ("dmy_persian", f"{d} {name} {y}".translate(_PERS), day, "day"),
                    ("dual_slash", f"{d} {name}/{p} {y}", day, "day"),
                    ("dual_bracket", f"{name} ({p}) {y}", month, "month"),
                    ("dual_space", f"{d} {name}/ {p} {y}".translate(_EAST), day, "day"),
                ]
                for form, expr, value, gran in forms:
                    if expr in seen:
                        continue
                    seen.add(expr)
                    sentence = rng.choice(TEMPLATES).format(expr)
                    items.append({"locale": loc, "form": form, "expr": expr, "sentence": sentence,
                                  "start": sentence.index(expr), "value": value, "granularity": gran})
    return items
