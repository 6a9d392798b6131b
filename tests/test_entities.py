"""Entities step: seeds, offsets, languages, backend choice, ANERcorp dev floor."""
from __future__ import annotations

import json
from pathlib import Path
from typing import Sequence

import numpy as np
import pytest

from newsflow.document import Document, Removed
from newsflow.pipeline import Pipeline
from tasks import entities
from tasks.entities import NO_TEXT_REASON, UNSUPPORTED_REASON, BackendUnavailable, EntityStep, choose_backend
from tasks.ner import as_document, find_corpus, read_conll, score_spans, split_dev
from tasks.ner.canonical import canonical_key, canonicalise
from tasks.ner.features import tokenize
from tasks.ner.places import Places, cldr_places, place_names, set_span

ROOT = Path(__file__).resolve().parents[1]
GOLD = json.loads((ROOT / "tests" / "gold" / "seeds.json").read_text(encoding="utf-8"))["documents"]


@pytest.fixture(scope="module")
def step():
    return EntityStep("offline")


@pytest.fixture(scope="module")
def seed_docs(step):
    out = {}
    for name in GOLD:
        text = (ROOT / "seeds" / name).read_text(encoding="utf-8")
        out[name] = step.process(Document.from_content(text, name))
    return out


def _by_text(doc):
    found: dict[str, dict[str, set[str]]] = {}
    for e in doc.entities:
        found.setdefault(e.text, {}).setdefault(e.type, set()).add(e.canonical)
    return found


def _missing(seed_docs):
    """Gold entities with no mention of their type: a mention counts when its
    text is the gold text, or when its canonical form is the gold text's
    (وكوريا الجنوبية: ANERcorp spans keep the attached و, the canonical drops it)."""
    missing = []
    for name, gold in GOLD.items():
        found = _by_text(seed_docs[name])
        canon = {(e.canonical, e.type) for e in seed_docs[name].entities}
        missing += [(name, g["text"], g["type"]) for g in gold["entities"]
                    if g["type"] not in found.get(g["text"], {})
                    and (canonical_key(g["text"], g["type"]), g["type"]) not in canon]
    return missing


def test_every_seed_entity_found_with_its_type(seed_docs):
    assert _missing(seed_docs) == []


def test_seed_entities_through_the_whole_pipeline():
    """Clean, language and entities over the raw seed files, as `newsflow
    inspect` runs them: a gold entity counts when it is among the body's
    entities or among those of a title/byline/credit line clean cut (seed 004
    names وكالة تسنیم للأنباء only in its source credit, a line the gold labels
    call boilerplate)."""
    docs = [Document.from_content((ROOT / "seeds" / name).read_text(encoding="utf-8"), name) for name in GOLD]
    out = {d.source: d for d in Pipeline("clean,language,entities").run(docs).documents}
    missing = []
    for name, gold in GOLD.items():
        doc = out[name]
        found = {(e.text, e.type) for e in doc.entities} | {(e.canonical, e.type) for e in doc.entities}
        for r in doc.removed:
            for e in r.entities:
                assert r.text[e.start:e.end] == e.text  # offsets into the removed line
                found |= {(e.text, e.type), (e.canonical, e.type)}
        missing += [g["text"] for g in gold["entities"]
                    if (g["text"], g["type"]) not in found
                    and (canonical_key(g["text"], g["type"]), g["type"]) not in found]
    assert missing == []
    credit = [r for r in out["004_57e7d86ee4e730af.txt"].removed if r.reason == "cue:copyright"]
    assert [(e.text, e.type) for r in credit for e in r.entities] == [("وكالة تسنیم للأنباء", "ORG")]


def test_removed_line_entities(step):
    """Only title/byline/dateline/credit lines get entities; a re-run replaces
    them; a title's short mention takes the body's full name."""
    body = "وصل الرئيس فلاديمير بوتين إلى بكين أمس. وقال بوتين إن الزيارة مهمة."
    doc = Document.from_content(body, "x.txt")
    doc.removed = [Removed(text="بوتين في بكين", reason="title", line=1),
                   Removed(text="شارك على فيسبوك بوتين", reason="cue:share", line=5),
                   Removed(text="المصدر: وكالة رويترز", reason="cue:credit", line=6)]
    for _ in range(2):
        step.process(doc)
    title, share, credit = doc.removed
    assert share.entities == []
    assert [(e.text, e.type) for e in title.entities] == [("بوتين", "PERS"), ("بكين", "LOC")]
    putin = {e.canonical for e in doc.entities if e.type == "PERS"}
    assert {title.entities[0].canonical} == putin
    assert all(r.text[e.start:e.end] == e.text for r in doc.removed for e in r.entities)
    assert [e.type for e in credit.entities] == ["ORG"]
    assert doc.provenance["entities"]["removed_line_entities"] == 3
    assert doc.to_json()["removed"][0]["entities"][0]["text"] == "بوتين"
    # a document in another language gets none, in the body or in its cut lines
    doc.language = "en"
    step.process(doc)
    assert doc.entities == [] and all(r.entities == [] for r in doc.removed)


@pytest.mark.parametrize("name", sorted(GOLD))
def test_seed_variants_share_a_canonical(name):
    """Canonicalisation alone, on the gold mention texts of one document."""
    for g in GOLD[name]["entities"]:
        variants = [g["text"], *g.get("same_as", [])]
        canon = canonicalise([(v, g["type"]) for v in variants])
        assert len(set(canon)) == 1, (g, canon)


def test_variants_found_in_seeds_share_a_canonical(seed_docs):
    for name, gold in GOLD.items():
        found = _by_text(seed_docs[name])
        for g in gold["entities"]:
            forms = [f for f in (g["text"], *g.get("same_as", [])) if g["type"] in found.get(f, {})]
            canon = set().union(*(found[f][g["type"]] for f in forms)) if forms else set()
            assert len(canon) <= 1, (name, g, canon)


def test_known_places_are_not_persons():
    places = Places(["بيونغ يانغ", "سول"])
    toks = "وصل كيم جونغ أون إلى بيونغ يانغ ثم سول".split()
    tags = ["O", "B-PERS", "I-PERS", "I-PERS", "O", "B-PERS", "I-PERS", "O", "B-ORG"]
    out = places.retype(toks, list(tags))
    assert out[1:4] == tags[1:4]  # a person stays a person
    assert out[5:7] == ["B-LOC", "I-LOC"]  # with a proclitic too: the key is clitic-free
    assert out[8] == "B-ORG"  # ORG is left alone (ANERcorp: a place as club or government)
    assert places.retype(["لبيونغ", "يانغ"], ["B-PERS", "I-PERS"]) == ["B-LOC", "I-LOC"]
    # غ and ج are one letter here, as in the CLDR rules and the canonical forms (هونج كونج, هونغ كونغ)
    assert places.retype(["لبيونج", "يانج"], ["B-PERS", "I-PERS"]) == ["B-LOC", "I-LOC"]
    assert Places(["هونغ كونغ"]).retype(["هونج", "كونج"], ["B-PERS", "I-PERS"]) == ["B-LOC", "I-LOC"]
    # a part of a place name is not the place
    assert places.retype(["بيونغ"], ["B-PERS"]) == ["B-PERS"]


def test_cldr_places_in_org_or_untagged_are_places():
    from tasks.ner.features import Lexicon
    places = Places(["موسكو"], cldr=["بيونغ يانغ", "كييف", "سول", "مالي"])
    # rule 2: an ORG that is exactly a CLDR place, with the غ/ج transliteration folded
    toks = "قمة بيونج يانج مع سول".split()
    assert places.retype(toks, ["O", "B-ORG", "I-ORG", "O", "B-ORG"]) == ["O", "B-LOC", "I-LOC", "O", "B-LOC"]
    # an ORG that only starts with a place is a club or a body, not the place
    assert places.retype(["سول", "يونايتد"], ["B-ORG", "I-ORG"]) == ["B-ORG", "I-ORG"]
    # the ANERgazet-only list (موسكو here) does not retype ORG
    assert places.retype(["موسكو"], ["B-ORG"]) == ["B-ORG"]
    # rule 3: an untagged CLDR place, proclitic and all
    assert places.retype("استفزاز لكييف".split(), ["O", "O"]) == ["O", "B-LOC"]
    # ... but not a word training saw only outside a LOC (مالي "financial")
    lex = Lexicon(words={"مالي": ["O"], "كييف": ["LOCH"]})
    assert places.retype("مركز مالي في كييف".split(), ["O"] * 4, lex) == ["O", "O", "O", "B-LOC"]
    # nor a place name inside an entity the CRF found
    assert places.retype(["دينامو", "كييف"], ["B-ORG", "I-ORG"]) == ["B-ORG", "I-ORG"]


def test_known_place_made_of_loc_spans_and_untagged_words_is_one_place():
    places = Places([], cldr=["جنوب أفريقيا", "البوسنة والهرسك", "أفريقيا"])
    # rule 4: جنوب + أفريقيا, البوسنة + والهرسك
    assert places.retype("في جنوب أفريقيا".split(), ["O", "O", "B-LOC"]) == ["O", "B-LOC", "I-LOC"]
    assert places.retype(["البوسنة", "والهرسك"], ["B-LOC", "B-LOC"]) == ["B-LOC", "I-LOC"]
    # not when a span of another type is inside, nor when the LOC span goes on past the name
    assert places.retype(["جنوب", "أفريقيا"], ["B-ORG", "B-LOC"]) == ["B-ORG", "B-LOC"]
    assert places.retype(["جنوب", "أفريقيا", "الوسطى"], ["O", "B-LOC", "I-LOC"]) == ["O", "B-LOC", "I-LOC"]


def test_lists_of_places_are_split():
    from tasks.ner.rules import split_joined_places

    places = Places(["إنجلترا", "البرتغال", "البوسنة والهرسك", "الولايات المتحدة", "اليابان"])
    toks = "مباراة إنجلترا والبرتغال و البوسنة والهرسك و اليابان والولايات المتحدة".split()
    tags = ["O", "B-LOC", "I-LOC", "O", "B-LOC", "I-LOC", "O", "B-LOC", "I-LOC", "I-LOC"]
    split_joined_places(toks, tags, places)
    # a list is split; a known place with و inside (البوسنة والهرسك) stays whole; a multi-word place after و
    assert tags == ["O", "B-LOC", "B-LOC", "O", "B-LOC", "I-LOC", "O", "B-LOC", "B-LOC", "I-LOC"]
    # و + a word that is no known place stays inside
    tags = ["B-LOC", "I-LOC"]
    split_joined_places(["اليابان", "والشرق"], tags, places)
    assert tags == ["B-LOC", "I-LOC"]
    # an ORG span that runs on into و + a known place
    tags = ["B-ORG", "I-ORG", "I-ORG", "I-ORG"]
    split_joined_places(["حزب", "الله", "والولايات", "المتحدة"], tags, places)
    assert tags == ["B-ORG", "I-ORG", "B-LOC", "I-LOC"]


def test_places_json_formats():
    assert Places.from_json(["بيونغ يانغ"]).retype(["بيونغ", "يانغ"], ["B-PERS", "I-PERS"]) == ["B-LOC", "I-LOC"]
    p = Places.from_json({"places": ["موسكو"], "cldr": ["سول"]})
    assert p.retype(["سول"], ["O"]) == ["B-LOC"] and p.retype(["موسكو"], ["O"]) == ["O"]


def test_place_list_drops_gazetteer_persons():
    names = place_names({"LOC": ["موسكو", "الهند", "*", "-"], "PERS": ["الهند"]}, ["بيونغ يانغ", "موسكو"])
    assert names == sorted(["موسكو", "بيونغ يانغ"])
    cldr = cldr_places()
    assert {"بيونغ يانغ", "سول", "موسكو", "كوريا الجنوبية"} <= set(cldr)
    assert "الأمم المتحدة" not in cldr  # a CLDR "territory" that ANERcorp tags ORG


def test_canonical_forms_of_a_long_document_match_comparing_every_name(monkeypatch):
    """canonicalise() compares a mention only with the names its words' neighbourhoods index; on a
    long document's mentions (every gold span of ANERcorp's first 1,200 sentences) that gives the
    forms that comparing it with every name gives."""
    from tasks.ner import canonical, spans

    sents = read_conll(find_corpus() / "train.txt")[:1200]
    mentions = [(" ".join(toks[s:e]), typ) for toks, tags in sents for s, e, typ in sorted(spans(tags))]
    assert len(mentions) > 2000
    indexed = canonicalise(mentions)

    class EveryName(canonical._Reps):
        def same_length(self, key):
            return [r for r in self.reps if len(r) == len(key)]

        def holding(self, word):
            return list(self.reps)

    monkeypatch.setattr(canonical, "_Reps", EveryName)
    assert canonicalise(mentions) == indexed
    assert len(set(indexed)) < len({m for m, _ in mentions})  # variants and short mentions did merge


def test_a_long_document_is_tagged_in_chunks_with_the_tags_of_one_go(monkeypatch):
    """The CRF passes run over CHUNK_SENTENCES at a time plus the DOC_WINDOW sentences either side
    that pass 2 reads: the tags and marginals are those of the whole document at once."""
    from tasks.ner import MODEL_DIR
    from tasks.ner import model as ner_model

    model = ner_model.NERModel(MODEL_DIR)
    doc = [toks for toks, _ in split_dev(read_conll(find_corpus() / "train.txt"))[1][:150]]
    whole = model.crf(doc, True)
    monkeypatch.setattr(ner_model, "CHUNK_SENTENCES", 20)  # 8 chunks, each with up to 30 sentences around it
    model._cache.clear()
    chunked = model.crf(doc, True)
    assert chunked[0] == whole[0] and chunked[1] == whole[1]
    # the same up to rounding: a chunk's short sentences share a grid padded to a different length
    assert all(np.allclose(a, b, rtol=0, atol=1e-9) for a, b in zip(chunked[2], whole[2]))
    assert len(chunked[2]) == len(doc)
    assert sum(t != "O" for sent in whole[1] for t in sent) > 100


def test_canonical_is_stable_across_documents():
    # the same person in two documents, spelled two ways, with a proclitic once
    a = canonicalise([("كيم جونغ أون", "PERS"), ("بيونغ يانغ", "LOC")])
    b = canonicalise([("كيم جونج اون", "PERS"), ("بيونج يانج", "LOC"), ("لبيونج يانج", "LOC")])
    assert a[0] == b[0] and a[1] == b[1] == b[2]
    assert canonical_key("سيرغي شويغو", "PERS") == canonical_key("سيرجي شويجو", "PERS")
    # a short surname joins the full name; a name starting with a clitic letter keeps it
    c = canonicalise([("فلاديمير بوتين", "PERS"), ("وبوتين", "PERS"), ("بوتين", "PERS")])
    assert len(set(c)) == 1 and c[0].startswith("فلاديمير")


def test_known_organisations_share_one_canonical_form():
    """A known body's other names (acronym, short form, former name) take its
    first name's canonical form, in any document and with any proclitic; only
    for ORG mentions (الفاو the peninsula is a place, not the FAO)."""
    a = canonicalise([("الناتو", "ORG"), ("بوتين", "PERS")])
    b = canonicalise([("حلف شمال الأطلسي", "ORG"), ("ولحلف الأطلسي", "ORG")])
    assert a[0] == b[0] == b[1] == canonical_key("حلف الناتو", "ORG") == "حلف شمال الاطلسي"
    assert canonical_key("الويبو", "ORG") == canonical_key("المنظمة العالمية للملكية الفكرية", "ORG")
    assert canonical_key("والأونروا", "ORG") == canonical_key("الاونروا", "ORG")
    assert canonical_key("الفاو", "LOC") == "الفاو" != canonical_key("الفاو", "ORG")
    # a body without other names, and a name that is not on the list, keep their own key
    assert canonical_key("محكمة العدل الدولية", "ORG") == "محكمه العدل الدوليه"
    assert canonicalise([("الأمم المتحدة", "ORG"), ("منظمة الأمم المتحدة", "ORG")]) == ["الامم المتحده"] * 2
    assert canonical_key("شركة ديمورا", "ORG") == "شركه ديمورا"


def test_listed_club_names_keep_their_first_word():
    """A club name is its own evidence for canonical forms: بوروسيا is not
    ب + وروسيا (ANERcorp's وروسيا is far more frequent), and a proclitic
    before a listed name goes."""
    from tasks.ner.clubs import Clubs

    known = Clubs(["بوروسيا دورتموند"]).names
    vocab = {"وروسيا": 12}  # و + روسيا, as ANERcorp spans keep it
    assert canonicalise([("بوروسيا دورتموند", "ORG")], vocab) == ["وروسيا دورتموند"]  # without the list
    assert canonicalise([("بوروسيا دورتموند", "ORG"), ("لبوروسيا دورتموند", "ORG")], vocab, known) == \
        ["بوروسيا دورتموند"] * 2
    # other names are stripped as before
    assert canonicalise([("وبوتين", "PERS"), ("بوتين", "PERS")], vocab, known) == ["بوتين"] * 2


def test_step_keeps_club_names_whole(step):
    doc = step.process(Document.from_content("فاز بوروسيا دورتموند على باريس سان جيرمان في المباراة .", "club",
                                             language="ar"))
    got = {(e.text, e.type, e.canonical) for e in doc.entities}
    assert ("بوروسيا دورتموند", "ORG", "بوروسيا دورتموند") in got
    assert ("باريس سان جيرمان", "ORG", "باريس سان جيرمان") in got


def test_offsets_exact_and_sorted(seed_docs):
    for doc in seed_docs.values():
        assert doc.entities
        for e in doc.entities:
            assert doc.text[e.start:e.end] == e.text
            assert e.type in ("PERS", "LOC", "ORG", "MISC") and e.canonical
        starts = [e.start for e in doc.entities]
        assert starts == sorted(starts)
        assert doc.provenance["entities"]["backend"] == "offline-crf"
        assert doc.provenance["entities"]["supported"] is True


def test_tokenize_offsets_split_punctuation():
    text = 'قال "بوتين"، في موسكو. ق.م. 30% (كييف)'
    toks = tokenize(text)
    assert all(text[s:e] == t for t, s, e in toks)
    assert [t for t, _, _ in toks] == ["قال", '"', "بوتين", '"', "،", "في", "موسكو", ".", "ق.م.", "30%",
                                       "(", "كييف", ")"]


def test_clitic_token_is_one_span(step):
    """ANERcorp tags a clitic-carrying token whole: spans follow space tokens."""
    doc = step.process(Document.from_content("التقى الرئيس الروسي فلاديمير بوتين في موسكو .", "t", language="ar"))
    for e in doc.entities:
        assert (e.start == 0 or doc.text[e.start - 1] == " ") and (e.end == len(doc.text) or doc.text[e.end] == " ")
    assert ("فلاديمير بوتين", "PERS") in {(e.text, e.type) for e in doc.entities}


def test_non_arabic_document_has_no_entities(step):
    doc = step.process(Document.from_content("Vladimir Putin met Kim Jong Un in Pyongyang on Friday.", "en"))
    assert doc.entities == []
    prov = doc.provenance["entities"]
    assert prov["supported"] is False and prov["reason"] == UNSUPPORTED_REASON


def test_language_field_wins_over_script(step):
    doc = step.process(Document.from_content("بوتين في موسكو", "x", language="fa"))
    assert doc.entities == [] and doc.provenance["entities"]["supported"] is False


def test_a_document_with_no_body_says_so_or_tags_its_cut_title(step):
    # nothing to tag: not "supported" as Arabic with 0 tokens
    for text in ("", "  \n"):
        prov = step.process(Document.from_content(text, "empty")).provenance["entities"]
        assert prov["supported"] is False and prov["reason"] == NO_TEXT_REASON
    # the clean step cut every line: an Arabic title is still tagged, an English one is not
    doc = Document.from_content("", "cut")
    doc.removed = [Removed(text="بوتين يصل إلى بكين", reason="title", line=1)]
    doc = step.process(doc)
    assert doc.provenance["entities"]["supported"] is True
    assert ("بوتين", "PERS") in {(e.text, e.type) for e in doc.removed[0].entities}
    doc = Document.from_content("", "cut-en")
    doc.removed = [Removed(text="Putin arrives in Beijing", reason="title", line=1)]
    doc = step.process(doc)
    assert doc.removed[0].entities == [] and doc.provenance["entities"]["reason"] == UNSUPPORTED_REASON


def test_odd_input_does_not_raise(step):
    for text in ("", "   \n", "...", "١٢٣ ٤٥٦", "\u200f\u200f", "بوتين" * 500):
        doc = step.process(Document.from_content(text, "odd"))
        assert all(doc.text[e.start:e.end] == e.text for e in doc.entities)


def test_backend_selection(tmp_path, monkeypatch):
    monkeypatch.setenv("CAMELTOOLS_DATA", str(tmp_path))
    monkeypatch.delenv(entities.BACKEND_ENV, raising=False)
    assert choose_backend() == "offline"  # camel's data not installed here
    assert choose_backend("offline") == "offline"
    with pytest.raises(BackendUnavailable, match="not installed"):
        choose_backend("camel")
    monkeypatch.setenv(entities.BACKEND_ENV, "camel")
    with pytest.raises(BackendUnavailable):
        EntityStep()
    monkeypatch.setenv(entities.BACKEND_ENV, "bert")
    with pytest.raises(ValueError, match="auto, offline, camel"):
        choose_backend()
    # once camel-tools' NER data is in place, auto prefers it
    model = tmp_path / "data" / "ner" / "arabert"
    model.mkdir(parents=True)
    (model / "config.json").write_text("{}")
    monkeypatch.setenv(entities.BACKEND_ENV, "auto")
    assert choose_backend() == "camel"


def test_offline_model_directory_setting(tmp_path, monkeypatch):
    from tasks.entities import CRFBackend
    from tasks.ner import MODEL_DIR

    monkeypatch.setenv(entities.MODEL_ENV, str(tmp_path))
    with pytest.raises(BackendUnavailable, match="no offline NER model in"):
        CRFBackend()
    monkeypatch.setenv(entities.MODEL_ENV, str(MODEL_DIR))
    backend = CRFBackend()
    assert backend.model_dir == MODEL_DIR
    tags, _ = backend.tag([["قال", "فلاديمير", "بوتين", "في", "موسكو"]])[0]
    assert tags[1:3] == ["B-PERS", "I-PERS"] and tags[4] == "B-LOC"


def test_step_version_follows_the_model_files(tmp_path, step):
    """A rebuilt model or a new places.json makes landed documents outdated
    (their pipeline_version no longer matches), so a re-run re-enriches them."""
    import shutil

    from tasks.entities import model_fingerprint
    from tasks.ner import MODEL_DIR

    copy = tmp_path / "model"
    shutil.copytree(MODEL_DIR, copy)
    first = model_fingerprint(copy)
    assert first == model_fingerprint(MODEL_DIR)
    (copy / "DATA_CARD.md").write_text("edited", encoding="utf-8")
    assert model_fingerprint(copy) == first  # the card is not the model
    meta = json.loads((copy / "model.json").read_text(encoding="utf-8"))
    meta["trained_on"]["seconds"] += 1.0
    (copy / "model.json").write_text(json.dumps(meta), encoding="utf-8")
    assert model_fingerprint(copy) == first  # nor is the build record
    (copy / "places.json").write_text('{"places": [], "cldr": []}\n', encoding="utf-8")
    assert model_fingerprint(copy) != first
    assert step.version.endswith(":offline-crf:" + first)
    doc = step.process(Document.from_content("قال فلاديمير بوتين في موسكو", "v"))
    assert doc.provenance["entities"]["model_fingerprint"] == first


# The shipped model is retrained on train + dev (python -m tasks.ner.train), so
# this is a regression floor, not a held-out figure: held-out dev figures come
# from the train-split model (--train-only, then bench/bench_ner.py) and are
# in model.json (dev.scores) and .notes/entities.md.
DEV_F1_FLOOR = 0.60


def test_anercorp_dev_slice_f1_floor(step):
    corpus = find_corpus()
    if corpus is None:
        pytest.skip("ANERcorp not present (data/anercorp/ or ../shared/data/anercorp/)")
    _, dev = split_dev(read_conll(corpus / "train.txt"))
    text, gold = as_document(dev[-150:])
    doc = step.process(Document.from_content(text, "dev", language="ar"))
    res = score_spans([gold], [{(e.start, e.end, e.type) for e in doc.entities}])
    assert res["overall"]["f1"] >= DEV_F1_FLOOR, res


def test_feature_cache_is_bounded_lru(monkeypatch):
    from tasks.ner.features import FeatureExtractor

    monkeypatch.setattr(FeatureExtractor, "CACHE_SIZE", 50)
    fx = FeatureExtractor()
    fx.sentence(["موسكو"])
    for i in range(200):
        fx.sentence([f"كلمة{i}", "موسكو"])  # موسكو stays recently used
    assert len(fx._cache) <= 50
    assert "موسكو" in fx._cache and "كلمة0" not in fx._cache


def test_lexicon_learns_words_triggers_and_phrases():
    from tasks.ner.features import FeatureExtractor, Lexicon

    sents = [(["قال", "السيد", "روبرت", "سميث", "في", "موسكو"], ["O", "O", "B-PERS", "I-PERS", "O", "B-LOC"])] * 3
    lex = Lexicon.learn(sents)
    assert lex.words["روبرت"] == ["PERSH"] and lex.words["قال"] == ["O"]
    assert lex.before["سيد"] == ["PERS"]  # keys are clitic- and al-free
    feats = FeatureExtractor(lexicon=lex).sentence(["السيد", "روبرت", "سميث", "جديد"])
    assert "-1tg=PERS" in feats[1] and "lx=PERSH" in feats[1] and "lx=PERSH" in feats[2]
    assert "lx=unk" in feats[3]


def test_name_model_jackknife_marks_every_word():
    from tasks.ner import names

    types = {w: "PERS" for w in ("فلاديمير", "ديمتري", "سيرغي", "بافيل", "ميخائيل", "نيكولاي")}
    types.update({w: "O" for w in ("قال", "يوم", "كان", "الذي", "التي", "بعد", "قبل", "عند")})
    model, held = names.fit_jackknifed(types, folds=2)
    assert set(held) == set(types) and all(held.values())
    assert model.marks("فلاديمير")[0].startswith("PERS") and model.marks("قال") == ["O"]
    assert model.marks("123") == []  # only Arabic words get marks


@pytest.mark.parametrize("filtered", [True, False])
def test_numpy_tagging_matches_crfsuite(filtered):
    """NERModel tags in numpy (tasks.ner.crf); crfsuite's own taggers over the
    same feature strings (dropped up front to the model's attributes, or not)
    give the same tags in both passes and the same marginals."""
    from tasks.ner import MODEL_DIR
    from tasks.ner.features import doc_features, with_extra
    from tasks.ner.model import NERModel

    model = NERModel(MODEL_DIR)
    assert model.features.known  # the shipped model lists its attributes
    if not filtered:
        model.features.known = None
    doc = [["التقى", "الرئيس", "الروسي", "فلاديمير", "بوتين", "في", "موسكو", "."],
           ["وقالت", "وكالة", "ريا", "نوفوستي", "إن", "شويغو", "زار", "بيونغ", "يانغ", "."],
           ["بوتين"], ["."]]
    corpus = find_corpus()
    if corpus is not None:
        _, dev = split_dev(read_conll(corpus / "train.txt"))
        doc += [toks for toks, _ in dev[:80]]
        # sentences longer than model.SHORT are decoded each in a grid of their own
        long = [w for toks, _ in dev[80:120] for w in toks]
        doc += [long[:150], long[150:500]]
        assert len(doc[-1]) > 300
    first, second, marg = model.crf(doc, True)
    # the clitic-free keys the tagger hands the rules are gazetteer keys (rules.known_organisations compares them)
    from tasks.ner.features import gaz_key
    assert model._crf(doc, False)[3] == [[gaz_key(t) for t in toks] for toks in doc]

    fx = model.features
    base = [fx.sentence(toks) for toks in doc]
    ref_first = [model.pass1.tag(x) for x in base]
    assert first == ref_first
    labels = model.weights.labels

    def check_pass2(tagger, sents, x1, first, second, marg) -> int:
        """crfsuite's ``tagger`` gives ``second`` and ``marg`` over the pass-2 features of ``sents``
        (their pass-1 features ``x1`` plus document features from ``first``); returns how many tokens it
        tagged as entities."""
        assert len(x1) == len(sents)
        extra = doc_features([fx.keys(t) for t in sents], first)
        seen = 0
        for x, tags, p in zip([with_extra(b, e) for b, e in zip(x1, extra)], second, marg):
            tagger.set(x)
            assert tags == tagger.tag()
            ref = np.array([[tagger.marginal(lab, i) for lab in labels] for i in range(len(x))])
            assert np.allclose(p, ref, atol=1e-6)
            seen += sum(t != "O" for t in tags)
        return seen

    assert check_pass2(model.pass2, doc, base, ref_first, second, marg) > 10

    # a short document gets pass 2 for short documents (trained on each sentence as its own document)
    from tasks.ner.model import SHORT_DOCUMENT

    assert model.pass2_short is not None and SHORT_DOCUMENT >= 2
    short = doc[:2]
    first, second, marg = model.crf(short, True)
    assert first == ref_first[:2]
    assert check_pass2(model.pass2_short, short, base[:2], first, second, marg) > 0


def test_crf_weight_sums_handle_empty_groups_and_unknown_features():
    from tasks.ner.crf import CRFWeights

    W = np.zeros((3, 1, 2))
    W[1, 0] = [1.0, 2.0]  # "a"
    W[2, 0] = [10.0, 20.0]  # "b"
    w = CRFWeights(["O", "B-PERS"], ["a", "b"], W, np.zeros((1, 2, 2)))
    got = w.sums([[], ["a", "zzz"], ["a", "b"], [], ["b"], []])
    assert got[:, 0].tolist() == [[0, 0], [1, 2], [11, 22], [0, 0], [10, 20], [0, 0]]
    assert w.sums([["b", "b"]], 0).tolist() == [[20, 40]]
    assert w.sums([]).shape == (0, 1, 2)
    with pytest.raises(ValueError):
        CRFWeights(["O"], ["a", "b"], W, np.zeros((1, 2, 2)))


def test_token_score_cache_is_bounded_and_changes_nothing(monkeypatch):
    from tasks.ner import MODEL_DIR
    from tasks.ner.model import NERModel

    model = NERModel(MODEL_DIR)
    monkeypatch.setattr(model, "CACHE_SIZE", 30)
    doc = [["التقى", "الرئيس", "الروسي", "فلاديمير", "بوتين", "في", "موسكو", "."]]
    cold = model.tag(doc, confidence=True)
    for i in range(10):
        model.tag([[f"كلمة{i}{j}" for j in range(12)]])
        assert len(model._cache) <= 30
    assert "كلمة90" in model._cache and "فلاديمير" not in model._cache
    assert model.tag(doc, confidence=True) == cold  # rebuilt
    assert model.tag(doc, confidence=True) == cold  # from the cache


def _name_index(path: Path) -> Path:
    """A tiny index with the schema of arabic-name-romanizer's names.sqlite3."""
    import sqlite3

    con = sqlite3.connect(path)
    con.execute("CREATE TABLE units (arabic_key TEXT, latin TEXT, latin_lang TEXT, country TEXT, role TEXT, "
                "count INTEGER, source TEXT)")
    con.execute("CREATE TABLE full_names (arabic_key TEXT, latin TEXT, latin_lang TEXT, country TEXT, "
                "count INTEGER, source TEXT)")
    con.executemany("INSERT INTO units VALUES (?, '', '', '', ?, ?, ?)", [
        ("محمد", "given", 300, "wikidata"), ("محمد", "surname", 40, "wikidata"),
        ("عبد الرحمن", "given", 5, "wikidata"), ("الرحمن", "surname", 2, "wikidata"),
        ("سليم", "given", 9, "dzirinames")])
    con.executemany("INSERT INTO full_names VALUES (?, '', '', '', 1, ?)", [
        ("محمد  عبد الرحمن", "wikidata"), ("محمد", "wikidata"), ("سليم بن علي", "dzirinames")])
    con.commit()
    con.close()
    return path


def test_person_names_from_an_index(tmp_path):
    from tasks.ner.features import gaz_key
    from tasks.ner.persons import PersonNames, bucket

    persons = PersonNames.from_index(_name_index(tmp_path / "names.sqlite3"))
    # counts summed over roles and over the words of a unit; الرحمن and رحمن share a key
    assert persons.counts[gaz_key("محمد")] == 340
    assert persons.counts[gaz_key("الرحمن")] == 7 and persons.counts[gaz_key("عبد")] == 5
    assert gaz_key("سليم") not in persons.counts  # only the Wikidata (CC0) rows
    assert persons.full == ["محمد عبد الرحمن"]  # multi-word, whitespace tidied, Wikidata only
    assert persons.marks(gaz_key("محمد")) == ("b4",) and persons.marks("غيرموجود") == ()
    assert [bucket(n) for n in (1, 3, 4, 15, 16, 255, 256, 1024, 10**6)] == [0, 0, 1, 1, 2, 3, 4, 5, 5]
    again = PersonNames.from_json(json.loads(json.dumps(persons.to_json())))
    assert again.counts == persons.counts and again.full == persons.full
    entries = persons.gazetteer_entries({"PERS": ["فلاديمير بوتين"]})
    assert entries == {"PERS": ["فلاديمير بوتين"], "WPERS": ["محمد عبد الرحمن"]}


def test_shipped_model_uses_wikidata_person_names():
    from tasks.ner import MODEL_DIR
    from tasks.ner.features import gaz_key
    from tasks.ner.model import NERModel
    from tasks.ner.persons import PersonNames

    persons = PersonNames.load(MODEL_DIR)
    assert persons is not None and len(persons.counts) > 10_000 and len(persons.full) > 10_000
    model = NERModel(MODEL_DIR)
    name = next(n for n in persons.full if len(n.split()) == 2)
    keys = [gaz_key(w) for w in name.split()]
    assert "B-WPERS" in model.features.gaz.match(keys)[0]
    feats = model.features.sentence(["قال", "محمد"])
    assert any(f.startswith("pn=") for f in feats[1])  # the model has weights for the bucket features


def test_person_names_from_the_installed_package():
    pytest.importorskip("arabic_name_romanizer")
    from tasks.ner.features import gaz_key
    from tasks.ner.persons import PersonNames

    persons = PersonNames.from_index()
    assert persons.marks(gaz_key("محمد"))[0] in ("b4", "b5")
    assert len(persons.full) > 10_000


def test_two_names_joined_by_and_are_split():
    from tasks.ner.rules import split_joined_persons

    sents = [["التقى", "كيم", "وشويغو", "أمس"], ["وقال", "شويغو", "إن"], ["سعد", "بن", "أبي", "وقاص"]]
    tags = [["O", "B-PERS", "I-PERS", "O"], ["O", "B-PERS", "O"], ["B-PERS", "I-PERS", "I-PERS", "I-PERS"]]
    split_joined_persons(sents, tags)
    # شويغو is a name of its own in the document; قاص is not, so وقاص stays inside its name
    assert tags == [["O", "B-PERS", "B-PERS", "O"], ["O", "B-PERS", "O"], ["B-PERS", "I-PERS", "I-PERS", "I-PERS"]]


def test_partial_mention_prefers_the_name_that_has_it_word_for_word():
    # a wrong span "كيم وشويغو" contains شويغو only up to an edit; سيرغي شويغو has it exactly
    canon = canonicalise([("كيم وشويغو", "PERS"), ("سيرغي شويغو", "PERS"), ("شويغو", "PERS")])
    assert canon[2] == canon[1] != canon[0]


def test_names_after_agency_or_paper_are_org():
    from tasks.ner.rules import media_names_are_org

    toks = ["نقلت", "وكالة", '"', "ريا", "نوفوستي", '"', "عن", "صحيفة", "القدس", "في", "القدس"]
    tags = ["O", "O", "O", "B-PERS", "I-PERS", "O", "O", "O", "B-LOC", "O", "B-LOC"]
    media_names_are_org(toks, tags)
    assert tags == ["O", "O", "O", "B-ORG", "I-ORG", "O", "O", "O", "B-ORG", "O", "B-LOC"]
    tags = ["O", "O", "O", "B-PERS", "I-PERS", "O", "O", "B-ORG", "I-ORG", "O", "B-LOC"]
    media_names_are_org(toks, tags)  # a span that already starts at the head is left as it is
    assert tags[7:9] == ["B-ORG", "I-ORG"] and tags[3] == "B-ORG"


def test_a_name_does_not_end_in_a_connector():
    from tasks.ner.rules import extend_names_over_connectors

    sents = [["زار", "سعد", "بن", "أبي", "وقاص", "المدينة"], ["قال", "محمد", "بن", "."], ["عبد", "الله"]]
    tags = [["O", "B-PERS", "I-PERS", "I-PERS", "O", "O"], ["O", "B-PERS", "I-PERS", "O"], ["B-ORG", "O"]]
    conf = [[1.0, 0.9, 0.8, 0.7, 1.0, 1.0], [1.0] * 4, [1.0] * 2]
    extend_names_over_connectors(sents, tags, conf)
    # the span takes وقاص and its confidence; a full stop and a non-person span are left alone
    assert tags == [["O", "B-PERS", "I-PERS", "I-PERS", "I-PERS", "O"], ["O", "B-PERS", "I-PERS", "O"], ["B-ORG", "O"]]
    assert conf[0][4] == 0.7
    # a name the CRF started right after the connector is the same name
    sents, tags = [["روضة", "أبي", "وقاص", ")"]], [["O", "B-PERS", "B-PERS", "O"]]
    extend_names_over_connectors(sents, tags)
    assert tags == [["O", "B-PERS", "I-PERS", "O"]]


def test_paper_names_are_the_unseen_words_after_the_head():
    from tasks.ner.features import Lexicon
    from tasks.ner.rules import paper_names

    lex = Lexicon(words={"اسرائيليه": ["O"], "وطن": ["ORGL", "LOCL"], "دراسات": ["O"]})
    toks = 'ذكرت صحيفة يديعوت أحرونوت الإسرائيلية و مجلة " الوطن " و مجلة الدراسات'.split()
    tags = ["O"] * len(toks)
    paper_names(toks, tags, lex)
    # unseen words after the head, up to the adjective training saw; a word seen inside an ORG; not a common word
    assert [t for t in tags] == ["O", "O", "B-ORG", "I-ORG", "O", "O", "O", "O", "B-ORG", "O", "O", "O", "O"]


def test_titled_names():
    from tasks.ner.features import Lexicon
    from tasks.ner.rules import titled_names

    lex = Lexicon(words={"رضا": ["PERSH"], "حكومه": ["O"], "و": ["O"]})
    toks = "اتهمت الشيخة حسينة الحكومة و تولى الإمام الرضا و قال السيد الحكومة".split()
    tags = ["O"] * len(toks)
    titled_names(toks, tags, lex)
    assert tags == ["O", "O", "B-PERS", "O", "O", "O", "O", "B-PERS", "O", "O", "O", "O"]


def test_party_names():
    from tasks.ner.rules import party_names

    toks = "احتفل حزب العمال ثم قال ولحزب الليكود إن حزب ،".split()
    tags = ["O", "O", "O", "O", "O", "O", "B-ORG", "O", "O", "O"]
    party_names(toks, tags)
    # حزب + a definite word; a span the CRF started after it takes حزب in; حزب before a comma is not a name
    assert tags == ["O", "B-ORG", "I-ORG", "O", "O", "B-ORG", "I-ORG", "O", "O", "O"]


def test_bank_names_take_a_masculine_adjective():
    from tasks.ner.rules import bank_names

    toks = "قال البنك الدولي ثم خطط البنك التنموية و للبنك المركزي".split()
    tags = ["O"] * len(toks)
    bank_names(toks, tags)
    assert tags == ["O", "B-ORG", "I-ORG", "O", "O", "O", "O", "O", "B-ORG", "I-ORG"]


def test_agency_names():
    from tasks.ner.rules import agency_names

    toks = "عن وكالة تسنیم للأنباء و وكالة أنباء الشرق الأوسط و وكالة الأنباء الرسمية".split()
    tags = ["O"] * 5 + ["O", "O", "B-LOC", "I-LOC", "O", "O", "O", "O"]
    agency_names(toks, tags)
    # the Persian yeh (تسنیم) is normalised; أنباء + the span the CRF found; وكالة الأنباء names no agency
    assert tags == ["O", "B-ORG", "I-ORG", "I-ORG", "O", "B-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "O", "O", "O"]
    # a name that would cut a span the CRF found is left alone
    toks, tags = "وكالة رويترز للأنباء".split(), ["O", "B-ORG", "I-ORG"]
    agency_names(toks, tags)
    assert tags == ["B-ORG", "I-ORG", "I-ORG"]
    toks, tags = "سمير وكالة أنباء".split() + ["X"], ["B-PERS", "I-PERS", "O", "O"]
    agency_names(toks, tags)
    assert tags == ["B-PERS", "I-PERS", "O", "O"]


def test_palace_names_need_an_unseen_name():
    from tasks.ner.features import Lexicon
    from tasks.ner.model import NERModel
    from tasks.ner.rules import palace_names

    names = NERModel().features.names
    lex = Lexicon(words={"نظر": ["O"]})
    toks = "في قصر كومسوسان و قصر النظر".split()
    tags = ["O"] * 6
    palace_names(toks, tags, lex, names)
    assert tags == ["O", "B-LOC", "I-LOC", "O", "O", "O"]
    # the CRF took the unseen name for a one-word person: still a palace; not a longer person, not a seen word
    toks = "في قصر كومسوسان و قصر كيم جونغ و قصر نظر".split()
    tags = ["O", "O", "B-PERS", "O", "O", "B-PERS", "I-PERS", "O", "O", "B-PERS"]
    palace_names(toks, tags, lex, names)
    assert tags == ["O", "B-LOC", "I-LOC", "O", "O", "B-PERS", "I-PERS", "O", "O", "B-PERS"]


def test_unseen_name_heads_follow_the_document():
    from tasks.ner.features import Lexicon
    from tasks.ner.rules import unseen_name_heads

    lex = Lexicon(words={"قال": ["O"]})
    sents = ["وزيرة الخارجية تشو سون هوي".split(), "وطلب من تشو سون هي".split(), "قال سون هوي".split(),
             "الشيخة حسينة و الشيخة حسينة".split()]
    tags = [["O", "O", "O", "B-PERS", "I-PERS"], ["O", "O", "B-PERS", "I-PERS", "O"], ["O", "B-PERS", "I-PERS"],
            ["B-PERS", "I-PERS", "O", "O", "B-PERS"]]
    conf = [[1.0, 1.0, 1.0, 0.9, 0.9], [1.0] * 5, [1.0] * 3, [1.0] * 5]
    unseen_name_heads(sents, tags, lex, conf)
    # تشو starts a two-word person in the next sentence: it joins سون هوي, with the span's confidence
    assert tags[0] == ["O", "O", "B-PERS", "I-PERS", "I-PERS"] and conf[0][2] == 0.9
    # a word training saw (قال) does not join; nor does a definite word (a title), though it heads a span elsewhere
    assert tags[2] == ["O", "B-PERS", "I-PERS"] and tags[3] == ["B-PERS", "I-PERS", "O", "O", "B-PERS"]


def test_national_bodies_take_their_country_adjective():
    from tasks.ner.rules import Demonyms, national_bodies

    dem = Demonyms([("روسيا",), ("كوريا", "الشماليه"), ("مصر",)])
    assert "الروسي" in dem and "الكورية" in dem and "المصرية" in dem
    assert "الدفاع" not in dem and "روسي" not in dem
    toks = "أمين مجلس الأمن الروسي و حزب الله اللبناني و ريال مدريد الروسي".split()
    tags = ["O", "B-ORG", "I-ORG", "O", "O", "B-ORG", "I-ORG", "O", "O", "B-ORG", "I-ORG", "O"]
    national_bodies(toks, tags, dem)
    # a council's adjective joins it; not after حزب الله (a proper name) nor after a club
    assert tags[1:4] == ["B-ORG", "I-ORG", "I-ORG"]
    assert tags[7] == "O" and tags[11] == "O"


def test_unseen_name_tails_follow_the_marginals():
    from tasks.ner.features import Lexicon
    from tasks.ner.rules import unseen_name_tails

    index = {"O": 0, "B-PERS": 1, "I-PERS": 2}
    toks = "قال نو غوانغ تشول : و كيم جونغ أمس".split()
    tags = ["O", "B-PERS", "I-PERS", "O", "O", "O", "B-PERS", "I-PERS", "O"]
    marg = np.zeros((len(toks), 3))
    marg[:, 0] = 1.0
    marg[3] = [0.48, 0.01, 0.51]  # تشول: the best path left it out, its marginal puts it in
    marg[8] = [0.40, 0.0, 0.60]  # أمس: a word training saw
    unseen_name_tails(toks, tags, marg, index, Lexicon(words={"امس": ["O"]}))
    assert tags[3] == "I-PERS" and tags[8] == "O"


def _check_rule(cases, rule, *args):
    """Each case: (text, the CRF's tags, the tags ``rule(tokens, tags, *args)``
    leaves in place)."""
    for text, tags, want in cases:
        tags = list(tags)
        rule(text.split(), tags, *args)
        assert tags == want, text


def test_peninsulas_are_one_place():
    from tasks.ner.rules import Demonyms, peninsulas

    dem = Demonyms([("كوريا", "الشماليه")])
    cases = [
        ("سكان شبه الجزيرة العربية قبائل", ["O", "B-LOC", "B-ORG", "I-ORG", "O"], ["O", "B-LOC", "I-LOC", "I-LOC", "O"]),
        ("في شبه جزيرة عمان وفي", ["O", "B-LOC", "O", "B-LOC", "O"], ["O", "B-LOC", "I-LOC", "I-LOC", "O"]),
        ("نزع سلاح شبه الجزيرة الكورية", ["O"] * 5, ["O", "O", "B-LOC", "I-LOC", "I-LOC"]),
        ("شرق شبه الجزيرة كانت", ["O", "O", "O", "O"], ["O", "B-LOC", "I-LOC", "O"]),
        # الجزيرة العربية (or a country adjective) without شبه; الجزيرة alone may be the channel
        ("شمال الجزيرة العربية و", ["O", "B-ORG", "I-ORG", "O"], ["O", "B-LOC", "I-LOC", "O"]),
        ("وسط والجزيرة الكورية", ["O", "O", "O"], ["O", "B-LOC", "I-LOC"]),
        ("قناة الجزيرة الفضائية", ["O", "B-ORG", "O"], ["O", "B-ORG", "O"]),
        # شبه without جزيرة ("quasi-") and a span that would be cut are left alone
        ("بيان شبه رسمي", ["O", "O", "O"], ["O", "O", "O"]),
        ("زيد شبه الجزيرة", ["B-PERS", "I-PERS", "O"], ["B-PERS", "I-PERS", "O"]),
    ]
    _check_rule(cases, peninsulas, dem)


def test_research_centres():
    from tasks.ner.places import Places
    from tasks.ner.rules import Demonyms, research_centres

    places = Places(["الولايات المتحدة", "بيروت", "إسرائيل"])
    dem = Demonyms(places.keys)
    cases = [
        # the seed's name, في inside it; it ends before هذا (not definite)
        ("عن مركز أبحاث التسلح في النزاعات هذا الأسبوع", ["O"] * 8,
         ["O", "B-ORG", "I-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "O"]),
        # في + a place, or a country adjective, is outside the name
        ("لمركز أبحاث السرطان في الولايات المتحدة", ["O", "O", "O", "O", "B-LOC", "I-LOC"],
         ["B-ORG", "I-ORG", "I-ORG", "O", "B-LOC", "I-LOC"]),
        ("مركز أبحاث الأمن القومي الإسرائيلي", ["O"] * 5, ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O"]),
        ("مركز دراسات الوحدة والتنمية في بيروت", ["O"] * 5 + ["B-LOC"],
         ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O", "B-LOC"]),
        # no definite word after دراسات, another head, or a span that would be cut: left alone
        ("مركز دراسات جديد", ["O"] * 3, ["O"] * 3),
        ("مركز التجارة العالمي", ["O"] * 3, ["O"] * 3),
        ("مركز أبحاث الشرق الأوسط", ["O", "O", "B-LOC", "I-LOC"], ["O", "O", "B-LOC", "I-LOC"]),
    ]
    _check_rule(cases, research_centres, places, dem)


def test_institution_names():
    from tasks.ner.features import Lexicon, gaz_key
    from tasks.ner.rules import institution_names

    lex = Lexicon(words={gaz_key("الحسن"): ["PERSH"], gaz_key("أبو"): ["PERSH"], gaz_key("قطر"): ["LOCH"]})
    cases = [
        # a club, a firm or a channel taken for a person or a place
        ("فاز نادي كورينثيانز", ["O", "O", "B-PERS"], ["O", "O", "B-ORG"]),
        ("لاعب فريق المغرب الفاسي", ["O", "O", "B-LOC", "I-LOC"], ["O", "O", "B-ORG", "I-ORG"]),
        ("ولشركة قطر غاز", ["O", "B-LOC", "I-LOC"], ["O", "B-ORG", "I-ORG"]),
        # a mosque or a prison taken for a person; not a place
        ("بنى مسجد هوبان", ["O", "O", "B-PERS"], ["O", "O", "B-ORG"]),
        ("في سجن أبو غريب", ["O", "O", "B-PERS", "I-PERS"], ["O", "O", "B-ORG", "I-ORG"]),
        ("في مسجد الكوفة", ["O", "O", "B-LOC"], ["O", "O", "B-LOC"]),
        # named after a person training knows, or the head is part of a span: left alone
        ("صلى في مسجد الحسن الثاني", ["O", "O", "O", "B-PERS", "I-PERS"], ["O", "O", "O", "B-PERS", "I-PERS"]),
        ("رئيس نادي قطر", ["O", "B-ORG", "I-ORG"], ["O", "B-ORG", "I-ORG"]),
    ]
    _check_rule(cases, institution_names, lex)


def test_known_organisations():
    from tasks.ner.rules import Organisations, known_organisations

    orgs = Organisations.load()  # the shipped list
    assert len(orgs.head) > 100
    cases = [
        # untagged names of the list, with proclitics, other hamza/alef spellings, the longest name first
        ("بالتنسيق مع الويبو على", ["O"] * 4, ["O", "O", "B-ORG", "O"]),
        ("الدول العربية والمنظمة العالمية للملكية الفكرية ،", ["B-LOC", "I-LOC"] + ["O"] * 5,
         ["B-LOC", "I-LOC", "B-ORG", "I-ORG", "I-ORG", "I-ORG", "O"]),
        ("برعاية اللجنة الدولية للصليب الأحمر", ["O"] * 5, ["O", "B-ORG", "I-ORG", "I-ORG", "I-ORG"]),
        ("قوات حلف شمال الاطلسي", ["O"] * 4, ["O", "B-ORG", "I-ORG", "I-ORG"]),
        # a name the CRF tagged, or one inside a longer span, or a competition's: left alone
        ("قال الاتحاد الأوروبي", ["O", "B-ORG", "I-ORG"], ["O", "B-ORG", "I-ORG"]),
        ("يونيسيف", ["B-MISC"], ["B-MISC"]),
        ("منظمة الأمم المتحدة للطفولة", ["B-ORG", "I-ORG", "I-ORG", "I-ORG"], ["B-ORG", "I-ORG", "I-ORG", "I-ORG"]),
        ("نهائي كأس الاتحاد الأفريقي", ["O"] * 4, ["O"] * 4),
        # only whole names: a word of one is not a name
        ("الاتحاد الدولي", ["O", "O"], ["O", "O"]),
    ]
    _check_rule(cases, known_organisations, orgs)


def test_name_runs_leftmost_longest_without_overlap():
    from tasks.ner.features import lengths_by_first, name_runs

    names = {("a",), ("a", "b"), ("a", "b", "c", "d"), ("b", "c"), ("e",)}
    lengths = lengths_by_first(names)
    # the longest name at a start wins; a run is stepped over, so b c inside it is not found
    assert list(name_runs(names, lengths, "x a b c d e".split())) == [(1, 5), (5, 6)]
    # a longer name cut off by the end of the words falls back to the longest that fits
    assert list(name_runs(names, lengths, "x a b c".split())) == [(1, 3)]
    assert list(name_runs(names, lengths, "x b c a".split())) == [(1, 3), (3, 4)]
    assert list(name_runs(names, lengths, "x y".split())) == []
    assert list(name_runs(names, lengths, [])) == []


def test_known_organisation_ends():
    from tasks.ner.features import Lexicon, gaz_key
    from tasks.ner.rules import Organisations, known_organisation_ends

    orgs = Organisations.load()
    # training saw فريقا only outside entities, للطفوله inside an ORG; سترسل and إندرياس never
    lex = Lexicon({gaz_key(w): m for w, m in (("فريقا", ["O"]), ("للطفولة", ["ORGH"]), ("الدولي", ["ORGH", "LOCL"]))})

    def rule(tokens, tags):
        known_organisation_ends(tags, orgs, [gaz_key(t) for t in tokens], lex)

    cases = [
        # a known name running on into a word training never saw in an entity (or only outside one) ends there
        ("منظمة الصحة العالمية سترسل فريقا", ["B-ORG"] + ["I-ORG"] * 4, ["B-ORG", "I-ORG", "I-ORG", "O", "O"]),
        ("رئيس الفيفا إندرياس", ["O", "B-ORG", "I-ORG"], ["O", "B-ORG", "O"]),
        ("والوكالة الدولية للطاقة الذرية فريقا", ["B-ORG"] + ["I-ORG"] * 4, ["B-ORG", "I-ORG", "I-ORG", "I-ORG", "O"]),
        # the whole span is a known name, or the next word is one training saw in an entity: left alone
        ("منظمة الأمم المتحدة للطفولة", ["B-ORG", "I-ORG", "I-ORG", "I-ORG"], ["B-ORG", "I-ORG", "I-ORG", "I-ORG"]),
        ("الأمم المتحدة للطفولة", ["B-ORG", "I-ORG", "I-ORG"], ["B-ORG", "I-ORG", "I-ORG"]),
        ("البنك الدولي", ["B-ORG", "I-ORG"], ["B-ORG", "I-ORG"]),
        # not an ORG span, or no known name at its start
        ("منظمة الصحة العالمية سترسل", ["B-LOC", "I-LOC", "I-LOC", "I-LOC"], ["B-LOC", "I-LOC", "I-LOC", "I-LOC"]),
        ("شركة سترسل فريقا", ["B-ORG", "I-ORG", "I-ORG"], ["B-ORG", "I-ORG", "I-ORG"]),
    ]
    _check_rule(cases, rule)


def test_months_are_not_names():
    from tasks.ner.rules import months_are_not_names

    toks = "خلال شهر رمضان المبارك قال رمضان ولشهر شعبان".split()
    tags = ["O", "O", "B-PERS", "I-PERS", "O", "B-PERS", "O", "B-LOC"]
    months_are_not_names(toks, tags)
    assert tags == ["O", "O", "O", "O", "O", "B-PERS", "O", "O"]


def test_long_lines_are_not_cut_into_pieces():
    """A line without sentence punctuation stays one sentence up to 2,000
    tokens (ANERcorp has lines of 1,894): cutting it every 120 tokens split
    names (راشد بن محمد بن | راشد آل مكتوم) and cost 0.0015 F1 on dev."""
    from tasks.ner.features import sentences

    text = " ".join(["كلمة"] * 300) + " راشد بن محمد بن راشد آل مكتوم"
    assert [len(s) for s in sentences(tokenize(text), text)] == [307]
    text = " ".join(["كلمة"] * 2500)
    assert [len(s) for s in sentences(tokenize(text), text)] == [2000, 500]


def _club_data(root: Path) -> Path:
    """A folder laid out as ArWikiCats' ``jsons``: clubs, and one list of places."""
    (root / "sports").mkdir(parents=True)
    (root / "cities").mkdir()
    clubs = {"juventus": "يوفنتوس", "real madrid": "ريال مدريد", "kaiserslautern": "نادي كايزرسلاوترن لكرة القدم",
             "as roma": "روما", "sc braga": "نادي براغا", "world cup": "بطولة كأس العالم",
             "south china": "جنوب الصين", "odd": 7}
    (root / "sports" / "Clubs_key.json").write_text(json.dumps(clubs, ensure_ascii=False), encoding="utf-8")
    (root / "cities" / "cities_full.json").write_text(json.dumps({"rome": "روما", "braga": "براغا"},
                                                                 ensure_ascii=False), encoding="utf-8")
    return root


def test_club_names_from_a_package_folder(tmp_path):
    from tasks.ner.clubs import club_names

    names = club_names(_club_data(tmp_path / "jsons"))
    # the sport's tail goes, a name after نادي is kept bare too unless the bare name is a place;
    # places, competitions, directions and non-strings are left out
    assert names == sorted(["يوفنتوس", "ريال مدريد", "نادي كايزرسلاوترن", "كايزرسلاوترن", "نادي براغا"])


def test_club_names_from_the_installed_package():
    import importlib.util

    if importlib.util.find_spec("ArWikiCats") is None:  # the dev extra installs it; only its JSON files are read
        pytest.skip("ArWikiCats is not installed")
    from tasks.ner.clubs import club_names

    names = set(club_names())
    assert len(names) > 2000 and {"يوفنتوس", "ريال مدريد", "بنفيكا"} <= names
    assert "روما" not in names and "ليفربول" not in names  # the towns are meant far more often


def test_club_rule():
    from tasks.ner.clubs import Clubs, club_rule
    from tasks.ner.features import Lexicon, gaz_key

    clubs = Clubs(["يوفنتوس", "ريال مدريد", "ريال مدريد كاستيا", "ستيوا بوخارست", "المغرب الفاسي", "نادي تشيلسي",
                   "موناكو"])
    places = Places(["موناكو"])
    lex = Lexicon({gaz_key("الفاسي"): ["O"]})  # training saw الفاسي; يوفنتوس never

    def rule(tokens, tags):
        club_rule(tokens, tags, [gaz_key(t) for t in tokens], clubs, places, lex)

    cases = [
        # a multi-word name the CRF tagged in part, split, or as another type is one ORG
        ("فاز ريال مدريد على", ["O", "B-ORG", "B-LOC", "O"], ["O", "B-ORG", "I-ORG", "O"]),
        # at the end of a sentence, a name that starts a longer listed one (ريال مدريد كاستيا)
        ("فاز ريال مدريد", ["O", "B-ORG", "B-LOC"], ["O", "B-ORG", "I-ORG"]),
        ("فاز ريال مدريد كاستيا", ["O", "B-ORG", "B-LOC", "O"], ["O", "B-ORG", "I-ORG", "I-ORG"]),
        ("ولاعب ستيوا بوخارست", ["O", "B-PERS", "I-PERS"], ["O", "B-ORG", "I-ORG"]),
        ("فريق المغرب الفاسي", ["O", "B-LOC", "O"], ["O", "B-ORG", "I-ORG"]),
        ("مدرب نادي تشيلسي", ["O", "O", "B-ORG"], ["O", "B-ORG", "I-ORG"]),
        # an unseen one-word name tagged PERS or LOC (with a proclitic too)
        ("مهاجم ليوفنتوس الإيطالي", ["O", "B-PERS", "O"], ["O", "B-ORG", "O"]),
        # left alone: untagged, a known place, already ORG, a piece of a longer span
        ("ريال مدريد", ["O", "O"], ["O", "O"]),
        ("يوفنتوس", ["O"], ["O"]),
        ("في موناكو", ["O", "B-LOC"], ["O", "B-LOC"]),
        ("ريال مدريد", ["B-ORG", "I-ORG"], ["B-ORG", "I-ORG"]),
        ("جامعة ريال مدريد", ["B-ORG", "I-ORG", "I-ORG"], ["B-ORG", "I-ORG", "I-ORG"]),
        ("ريال مدريد الإسباني", ["B-ORG", "I-ORG", "I-ORG"], ["B-ORG", "I-ORG", "I-ORG"]),
    ]
    _check_rule(cases, rule)


def test_shipped_model_has_club_names():
    from tasks.ner import MODEL_DIR
    from tasks.ner.clubs import Clubs
    from tasks.ner.model import NERModel

    model = NERModel(MODEL_DIR)
    assert len(model.clubs.keys) > 2000
    # clubs ANERcorp never names: the CRF calls them places or splits them
    sents = [s.split() for s in ("فاز بوروسيا دورتموند على باريس سان جيرمان .",
                                 "وانتقل إلى نادي شاختار دونيتسك الأوكراني .")]
    want = [["O", "B-ORG", "I-ORG", "O", "B-ORG", "I-ORG", "I-ORG", "O"],
            ["O", "O", "B-ORG", "I-ORG", "I-ORG", "O", "O"]]
    # a sentence may end in a listed name that starts a longer one (ريال مدريد, ريال مدريد كاستيا)
    assert model.tag([["فاز", "ريال", "مدريد"]]) == [["O", "B-ORG", "I-ORG"]]
    assert model.tag(sents) == want
    model.clubs = Clubs()
    assert model.tag(sents) != want


def _bio(text: str, spans_: Sequence[tuple[int, int, str]]) -> tuple[list[str], list[str]]:
    toks = text.split()
    tags = ["O"] * len(toks)
    for s, e, typ in spans_:
        set_span(tags, s, e, typ)
    return toks, tags


def test_known_phrases_keep_the_types_training_gave_most_of_the_time():
    from tasks.ner.features import gaz_key
    from tasks.ner.phrases import KnownPhrases

    sents = [
        _bio("قال مجلس الأمن إن", [(1, 3, "ORG")]),
        _bio("وأكد لمجلس الأمن أن", [(1, 3, "ORG")]),  # ل off the first word: the same phrase
        _bio("في مجلس الأمن", []),  # untagged once in three: still ORG (2 of 3)
        _bio("زار الشرق الأوسط", [(1, 3, "LOC")]),
        _bio("وقالت الشرق الأوسط", [(1, 3, "ORG")]),  # one each: a tie, dropped
        _bio("ليس فقط هنا", [(0, 2, "MISC")]),
        _bio("ليس فقط", []),
        _bio("ليس فقط", []),  # tagged once in three: dropped
        _bio("برامج الأسلحة الكورية الشمالية", [(2, 4, "LOC")]),  # an adjective tagged once in two: not more than half
        _bio("صحيفة رودونج سينمون الكورية الشمالية", []),
        _bio("وصل بوتين", [(1, 2, "PERS")]),  # one word: the CRF's lexicon feature has it
        _bio("شركة بي . سي", [(1, 4, "ORG")]),  # a phrase with a word of punctuation only
    ]
    phrases = KnownPhrases.learn(sents)
    key = lambda text: tuple(gaz_key(w) for w in text.split())  # noqa: E731
    assert phrases.types == {key("مجلس الأمن"): "ORG"}
    assert KnownPhrases.from_json(phrases.to_json()).types == phrases.types
    assert not KnownPhrases() and len(phrases) == 1


def test_known_phrases_rule():
    from tasks.ner.features import gaz_key
    from tasks.ner.phrases import KnownPhrases, known_phrases

    phrases = KnownPhrases({tuple(gaz_key(w) for w in p.split()): t for p, t in (
        ("الشرق الأوسط", "LOC"), ("توفيق الحكيم", "PERS"), ("الدول العربية", "LOC"), ("فلسطين ولبنان", "LOC"))})

    def rule(tokens, tags):
        known_phrases(tokens, tags, phrases, [gaz_key(t) for t in tokens])

    cases = [
        # untagged, mistyped, cut in two, or with a clitic on the first word: one span of the phrase's type
        ("كتب توفيق الحكيم", ["O", "O", "O"], ["O", "B-PERS", "I-PERS"]),
        ("في الشرق الأوسط", ["O", "B-ORG", "I-ORG"], ["O", "B-LOC", "I-LOC"]),
        ("زار فلسطين ولبنان", ["O", "B-LOC", "B-LOC"], ["O", "B-LOC", "I-LOC"]),
        ("بالشرق الأوسط", ["B-LOC", "O"], ["B-LOC", "I-LOC"]),
        # a span that starts right after it stays its own
        ("الشرق الأوسط أوروبا", ["B-ORG", "I-ORG", "I-LOC"], ["B-LOC", "I-LOC", "B-LOC"]),
        # left alone: a longer span around it, or a span running into it from before or out past its end
        ("جامعة الدول العربية", ["B-ORG", "I-ORG", "I-ORG"], ["B-ORG", "I-ORG", "I-ORG"]),
        ("الدول العربية الكبرى", ["O", "B-ORG", "I-ORG"], ["O", "B-ORG", "I-ORG"]),
        ("سمير توفيق الحكيم", ["B-PERS", "I-PERS", "O"], ["B-PERS", "I-PERS", "O"]),
    ]
    _check_rule(cases, rule)
    empty = ["O", "O"]
    known_phrases(["توفيق", "الحكيم"], empty, KnownPhrases(), ["توفيق", "حكيم"])
    assert empty == ["O", "O"]
    # a known place is only ever made a LOC: ANERcorp's one article on Korea tags بيونج يانج as the government
    city = KnownPhrases({tuple(gaz_key(w) for w in "بيونج يانج".split()): "ORG",
                         tuple(gaz_key(w) for w in "الشرق الأوسط".split()): "LOC"})
    places = Places(["بيونغ يانغ", "الشرق الأوسط"])
    for text, tags, want in (("زار بيونج يانج", ["O", "B-LOC", "I-LOC"], ["O", "B-LOC", "I-LOC"]),
                             ("في الشرق الأوسط", ["O", "B-ORG", "I-ORG"], ["O", "B-LOC", "I-LOC"])):
        toks = text.split()
        known_phrases(toks, tags, city, [gaz_key(t) for t in toks], places)
        assert tags == want, text


def test_shipped_model_has_the_phrases_of_its_training_sentences():
    """``phrases.json`` is what the build learns from all of train.txt (the
    sentences the shipped CRFs were trained on), and the tagger reads it."""
    from tasks.ner import MODEL_DIR
    from tasks.ner.model import NERModel
    from tasks.ner.phrases import KnownPhrases

    shipped = KnownPhrases.load(MODEL_DIR)
    assert shipped.types == KnownPhrases.learn(read_conll(find_corpus() / "train.txt")).types
    assert len(shipped) > 1000 and set(shipped.types.values()) == {"PERS", "LOC", "ORG", "MISC"}
    assert NERModel(MODEL_DIR).phrases.types == shipped.types
