"""Known place names: a span the CRF calls a person but that is a known
place is a place.

The CRF types unseen names from their letters and context; transliterated
Korean or Chinese place names look like the person names it saw in training
(بيونغ يانغ next to كيم جونغ أون), and it calls them persons. The list here is
every Arabic country and territory name and every city name of Unicode
CLDR (via Babel, at build time only) and ANERgazet's locations, minus
anything ANERgazet lists as a person. It only turns PERS into LOC: ANERcorp
tags places used for their club or government as ORG (كوبنهاغن, بيونج يانج
النووية), so ORG is left alone.

Built by ``python -m tasks.ner.train`` into ``places.json`` beside the model.
"""
from __future__ import annotations

from typing import Iterable, Sequence

from tasks.ner import spans
from tasks.ner.canonical import proclitic_options
from tasks.ner.features import normalise

# CLDR territory codes that are not places one can be in (UN, EU, euro area, pseudo-locales, unknown)
_NOT_PLACES = {"UN", "EU", "EZ", "QO", "XA", "XB", "ZZ"}


def cldr_places(locale: str = "ar") -> list[str]:
    """Country, territory and city names in CLDR's Arabic locale."""
    from babel import Locale  # build time only

    loc = Locale.parse(locale)
    names = {v for k, v in loc.territories.items() if not k.isdigit() and k not in _NOT_PLACES}
    names |= {tz["city"] for tz in loc.time_zones.values() if tz.get("city")}
    # "بيولا، داكوتا الشمالية" -> "بيولا"; "(...)" qualifiers dropped
    return sorted({n.split("،")[0].split("(")[0].strip() for n in names} - {""})


def place_names(gaz_entries: dict[str, list[str]], extra: Iterable[str] = ()) -> list[str]:
    """ANERgazet LOC plus ``extra`` (CLDR), minus what ANERgazet has as a
    person and the gazetteer's letterless lines (``*``, ``-``)."""
    persons = {_key(n) for n in gaz_entries.get("PERS", ())}
    return sorted(n for n in {*gaz_entries.get("LOC", ()), *extra}
                  if any(c.isalpha() for c in n) and _key(n) not in persons)


def _key(name: str) -> tuple[str, ...]:
    return tuple(normalise(w) for w in name.split())


class Places:
    def __init__(self, names: Iterable[str]):
        self.keys = {_key(n) for n in names}
        self.keys.discard(())

    def retype(self, tokens: Sequence[str], tags: list[str]) -> list[str]:
        """``tags`` with PERS spans that are exactly a known place made LOC (in place)."""
        if not self.keys:
            return tags
        for s, e, typ in spans(tags):
            if typ != "PERS":
                continue
            first = normalise(tokens[s])
            rest = tuple(normalise(t) for t in tokens[s + 1:e])
            # the first word whole (بيونغ, لاغوس) or without its proclitics (لبيونغ)
            if any((f, *rest) in self.keys for f in (first, *proclitic_options(first))):
                tags[s] = "B-LOC"
                tags[s + 1:e] = ["I-LOC"] * (e - s - 1)
        return tags
