"""Tests for the date step (tasks/dates.py)."""
from __future__ import annotations

import json
from pathlib import Path

import pytest

from newsflow.document import Document
from tasks.dates import DateStep, find_dates

ROOT = Path(__file__).resolve().parents[1]
GOLD = json.loads((ROOT / "tests" / "gold" / "seeds.json").read_text(encoding="utf-8"))["documents"]
REF = "2024-06-19"  # a Wednesday


def one(text, reference=REF):
    found = find_dates(text, reference)
    assert len(found) == 1, [(d.text, d.value) for d in found]
    d = found[0]
    assert text[d.start:d.end] == d.text
    return d


def tv(text, reference=REF):
    return [(d.text, d.value) for d in find_dates(text, reference)]


# ------------------------------------------------------------------ seeds
@pytest.mark.parametrize("name", sorted(GOLD))
def test_seed_gold_dates(name):
    text = (ROOT / "seeds" / name).read_text(encoding="utf-8")
    gold = GOLD[name]
    found = find_dates(text, gold["reference"])
    got = {(d.text, d.value, d.granularity) for d in found}
    for g in gold["dates"]:
        assert (g["text"], g["value"], g["granularity"]) in got, g
    for d in found:
        assert text[d.start:d.end] == d.text
    starts = [d.start for d in found]
    assert starts == sorted(starts)
    assert all(a.end <= b.start for a, b in zip(found, found[1:]))
    for nd in gold.get("not_dates", []):
        assert not any(nd in d.text or d.text in nd for d in found), nd


def test_seed_relative_flags():
    text = (ROOT / "seeds" / "001_d4c75918ac5c958f.txt").read_text(encoding="utf-8")
    rel = {d.text: d.relative for d in find_dates(text, "2024-06-19")}
    assert rel["اليوم الأربعاء"] and rel["الثلاثاء"] and not rel["عام 2000"]


def test_seed_step_takes_reference_from_dateline():
    """001 run alone (no clean step): the 'نشر في' dateline gives published and the reference."""
    text = (ROOT / "seeds" / "001_d4c75918ac5c958f.txt").read_text(encoding="utf-8")
    doc = DateStep().process(Document.from_content(text, "001"))
    assert doc.published == "2024-06-19T14:49" and doc.published_source == "dateline"
    assert doc.provenance["dates"]["reference"] == "2024-06-19"
    assert ("الثلاثاء", "2024-06-18") in {(d.text, d.value) for d in doc.dates}


# ------------------------------------------------------------------ month names
@pytest.mark.parametrize("text,value", [
    ("5 جانفي 2021", "2021-01-05"), ("فيفري 2020", "2020-02"), ("12 أفريل 2019", "2019-04-12"),
    ("ماي 2018", "2018-05"), ("جوان 2017", "2017-06"), ("3 جويلية 2016", "2016-07-03"),
    ("1 أوت 2015", "2015-08-01"), ("يوليوز 2014", "2014-07"), ("20 غشت 2013", "2013-08-20"),
    ("شتنبر 2012", "2012-09"), ("نونبر 2011", "2011-11"), ("4 دجنبر 2010", "2010-12-04"),
    ("أغشت 2009", "2009-08"), ("شتمبر 2008", "2008-09"), ("دجمبر 2007", "2007-12"),
    ("كانون الثاني 2020", "2020-01"), ("2 كانون الأول 2021", "2021-12-02"), ("تشرين الثاني 2022", "2022-11"),
    ("تشرين أول 2022", "2022-10"), ("8 آب 2006", "2006-08-08"), ("أيار 2005", "2005-05"),
    ("مايس 2003", "2003-05"), ("يونيه 2004", "2004-06"), ("9 يوليه 2004", "2004-07-09"),
    ("إبريل 2001", "2001-04"), ("ابريل 2001", "2001-04"), ("اكتوبر 1999", "1999-10"),
])
def test_regional_month_names(text, value):
    d = one("وذلك في " + text + " كما قال")
    assert (d.text, d.value) == (text, value)


@pytest.mark.parametrize("text,value", [
    ("9 فبراير/ شباط 2000", "2000-02-09"), ("مارس (آذار) 2020", "2020-03"),
    ("كانون الثاني/يناير 2021", "2021-01"), ("تشرين الأول - أكتوبر 2023", "2023-10"),
    ("13 سبتمبر (أيلول) 2019", "2019-09-13"), ("يونيو (حزيران 2024)", "2024-06"),
])
def test_dual_forms(text, value):
    assert tv("في " + text + ".") == [(text, value)]


@pytest.mark.parametrize("text,value", [
    ("7-يناير-2011", "2011-01-07"), ("يناير-2011", "2011-01"), ("7 يناير من عام 2011", "2011-01-07"),
    ("7 أبريل عام 2011", "2011-04-07"), ("الأحد، 7 يناير 2011", "2011-01-07"), ("7 من شهر يناير 2011", "2011-01-07"),
    ("السابع من يناير 2011", "2011-01-07"), ("الحادي والعشرين من مارس 2020", "2020-03-21"),
    ("الأحد 7/1/2011", "2011-01-07"), ("يوم الأحد 2011-01-09", "2011-01-09"), ("٧ كانون الثاني ٢٠١١م", "2011-01-07"),
])
def test_layout_variants(text, value):
    assert tv("قال " + text + " إنه") == [(text, value)]


def test_month_names_cover_every_cldr_arabic_locale():
    babel = pytest.importorskip("babel")
    from babel import Locale, localedata

    locales = [l for l in localedata.locale_identifiers() if l == "ar" or l.startswith("ar_")]
    assert len(locales) > 20
    for loc in locales:
        for m, name in Locale.parse(loc).months["format"]["wide"].items():
            name = " ".join(name.split())
            text = f"بتاريخ 7 {name} 2011 وقع"
            assert tv(text) == [(f"7 {name} 2011", f"2011-{m:02d}-07")], (loc, name)
    assert babel


# ------------------------------------------------------------------ digits, diacritics, offsets
def test_eastern_and_persian_digits():
    assert tv("في ٩ فبراير ٢٠٠٠ وقع") == [("٩ فبراير ٢٠٠٠", "2000-02-09")]
    assert tv("در ۱۵ مارس ۲۰۲۳") == [("۱۵ مارس ۲۰۲۳", "2023-03-15")]
    assert tv("عام ١٩٥٣.") == [("عام ١٩٥٣", "1953")]


def test_offsets_with_diacritics_and_tatweel():
    text = "وُقِّعَت في 9 فبـــرايرَ 2000 ثم أَمْسِ"
    found = find_dates(text, REF)
    assert [(d.text, d.value) for d in found] == [("9 فبـــرايرَ 2000", "2000-02-09"), ("أَمْسِ", "2024-06-18")]
    for d in found:
        assert text[d.start:d.end] == d.text


# ------------------------------------------------------------------ ranges, lists, years
def test_ranges_and_years():
    assert tv("يومي 18 و19 يونيو 2024") == [("18 و19 يونيو 2024", "2024-06-18/2024-06-19")]
    assert tv("من 30 يونيو - 2 يوليو 2024") == [("30 يونيو - 2 يوليو 2024", "2024-06-30/2024-07-02")]
    assert tv("بين يناير - مارس 2024") == [("يناير - مارس 2024", "2024-01/2024-03")]
    assert tv("في أعوام 1950 - 1953،") == [("1950 - 1953", "1950/1953")]
    assert tv("بين عامي 2020 و2021") == [("عامي 2020 و2021", "2020/2021")]
    assert tv("منذ 2014 وحتى الآن") == [("2014", "2014")]
    assert tv("أسست سنة 1990 م") == [("سنة 1990 م", "1990")]
    assert tv("بني 1870م") == [("1870م", "1870")]


@pytest.mark.parametrize("text", [
    "الحرب المستمرة منذ أكثر من 30 شهرا", "بعد يومين من الإطلاق", "محادثات استمرت نحو ساعتين",
    "خلال 3 سنوات و4 أشهر", "لمدة 10 أيام و5 ساعات", "اتصل على 0123456789 أو 2024-555-1234",
    "رقم القضية 2024/17823", "قتل 2000 شخص", "في 2000 حالة", "من 1500 جندي", "for 3 years and 2 months",
    "It cost 1999 dollars", "0 تعليق", "الأشهر الثلاثة والنصف الماضية", "مارس الضغط على الحكومة",
    "the price may rise", "نيسان ـ قال الرئيس", "Mars rover", "ID 20240619",
])
def test_not_dates(text):
    assert find_dates(text, REF) == []


# ------------------------------------------------------------------ relative + partial
def test_relative_weekdays():
    assert tv("قال اليوم الأربعاء") == [("اليوم الأربعاء", "2024-06-19")]
    assert tv("وصل أمس الثلاثاء") == [("أمس الثلاثاء", "2024-06-18")]
    assert tv("وصل الثلاثاء") == [("الثلاثاء", "2024-06-18")]
    assert tv("قال الأربعاء") == [("الأربعاء", "2024-06-19")]  # same weekday: the reference day
    assert tv("في يوم الجمعة") == [("يوم الجمعة", "2024-06-14")]
    assert tv("الجمعة الماضي") == [("الجمعة الماضي", "2024-06-14")]
    assert tv("الأربعاء المقبل") == [("الأربعاء المقبل", "2024-06-26")]
    assert tv("والأحد") == [("الأحد", "2024-06-16")]
    assert tv("أمس") == [("أمس", "2024-06-18")]
    assert tv("أول أمس") == [("أول أمس", "2024-06-17")]
    assert tv("on Monday") == [("Monday", "2024-06-17")]
    assert tv("last Friday") == [("last Friday", "2024-06-14")]
    assert tv("il est arrivé hier") == [("hier", "2024-06-18")]


def test_partial_dates_resolve_with_tense():
    ref = "2024-09-14"
    assert tv("13 سبتمبر (أيلول الجاري)", ref) == [("13 سبتمبر (أيلول الجاري)", "2024-09-13")]
    assert tv("في مايو/أيار الماضي", ref) == [("مايو/أيار الماضي", "2024-05")]
    assert tv("في سبتمبر الماضي", ref) == [("سبتمبر الماضي", "2023-09")]
    assert tv("في أكتوبر المقبل", ref) == [("أكتوبر المقبل", "2024-10")]
    assert tv("في مارس المقبل", ref) == [("مارس المقبل", "2025-03")]
    assert tv("في يناير", ref) == [("يناير", "2025-01")]  # nearest occurrence
    assert tv("في يونيو", ref) == [("يونيو", "2024-06")]
    assert tv("le 3 mars", ref) == [("3 mars", "2025-03-03")]  # nearest: 170 days ahead vs 195 back
    assert tv("le 3 mars") == [("3 mars", "2024-03-03")]


def test_no_reference_keeps_surface_without_value():
    found = find_dates("قال اليوم الأربعاء إن زيارة 13 سبتمبر الماضي وفي يونيو 2024", None)
    assert [(d.text, d.value, d.granularity) for d in found] == [
        ("اليوم الأربعاء", None, "day"), ("13 سبتمبر الماضي", None, "day"), ("يونيو 2024", "2024-06", "month")]
    assert found[0].relative


# ------------------------------------------------------------------ hijri
def test_hijri():
    d = one("في 15 رمضان 1445 هـ")
    assert (d.text, d.value, d.calendar, d.hijri) == ("15 رمضان 1445 هـ", "2024-03-25", "hijri", "1445-09-15")
    d = one("غرة ذي الحجة 1444")
    assert (d.value, d.hijri) == ("2023-06-19/2023-07-18", "1444-12")
    d = one("١ محرم ١٤٤٦ه")
    assert (d.value, d.hijri) == ("2024-07-07", "1446-01-01")
    assert one("يوم 10 ذو الحجة", REF).hijri == "1445-12-10"


# ------------------------------------------------------------------ English / French / numeric
@pytest.mark.parametrize("text,span,value", [
    ("on June 19, 2024 the", "June 19, 2024", "2024-06-19"),
    ("on 19 June 2024 the", "19 June 2024", "2024-06-19"),
    ("Wednesday, June 19, 2024 at 2:30 pm", "Wednesday, June 19, 2024 at 2:30 pm", "2024-06-19T14:30"),
    ("in Sept. 2021", "Sept. 2021", "2021-09"),
    ("le 19 juin 2024", "19 juin 2024", "2024-06-19"),
    ("le mercredi 19 juin 2024 à 14h30", "mercredi 19 juin 2024 à 14h30", "2024-06-19T14:30"),
    ("le 1er mars 2020", "1er mars 2020", "2020-03-01"),
    ("en août 2019", "août 2019", "2019-08"),
    ("published 2024-06-19", "2024-06-19", "2024-06-19"),
    ("نشر في 2024-06-19 الساعة 14:49", "2024-06-19 الساعة 14:49", "2024-06-19T14:49"),
    ("le 19/06/2024", "19/06/2024", "2024-06-19"),
    ("le 19.06.2024", "19.06.2024", "2024-06-19"),
    ("on 06/19/2024", "06/19/2024", "2024-06-19"),  # month first only when day-first is impossible
    ("on 05/06/2024", "05/06/2024", "2024-06-05"),  # day first by default
    ("in 2020, sales", "2020", "2020"),
])
def test_english_french_numeric(text, span, value):
    assert tv(text) == [(span, value)]


# ------------------------------------------------------------------ step contract
def test_step_reference_sources_and_odd_input():
    step = DateStep()
    doc = Document.from_content("وصل الثلاثاء", "a", reference_date="2024-06-19")
    step.process(doc)
    assert doc.provenance["dates"]["reference_source"] == "caller"
    assert [(d.text, d.value) for d in doc.dates] == [("الثلاثاء", "2024-06-18")]
    doc = Document.from_content("وصل الثلاثاء", "b", published="2024-06-21T09:00+03:00")
    step.process(doc)
    assert doc.provenance["dates"]["reference"] == "2024-06-21" and doc.dates[0].value == "2024-06-18"
    doc = Document.from_content("وصل الثلاثاء", "c")
    step.process(doc)
    assert doc.provenance["dates"]["reference_source"] is None and doc.dates[0].value is None
    for odd in ["", "\x00\x01", "٩" * 5000, "31 فبراير 2024", "99/99/9999", "(" * 300 + "يونيو", "في " * 2000]:
        d = Document.from_content(odd or " ", "odd")
        d.text = odd
        step.process(d)
        assert all(x.value is None or x.value[:4].isdigit() for x in d.dates)
    assert find_dates(None) == []
    assert tv("31 فبراير 2024") == [("فبراير 2024", "2024-02")]  # impossible day: only the month is read
