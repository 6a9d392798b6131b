"""The reader: discovery, decoding, formats and quarantine of bad input.

Bad-input fixtures are generated here (tmp_path), never committed.
"""
from __future__ import annotations

import codecs
import gzip
import json
import os
import random
from pathlib import Path

import pytest

from newsflow.document import Document, Quarantined, content_id
from tasks.read import DecodeError, decode, discover, looks_like_html, read_bytes, read_many, read_path

SEEDS = Path(__file__).resolve().parent.parent / "seeds"
SEED_FILES = sorted(SEEDS.glob("*.txt"))


def seed_text(i: int) -> str:
    return SEED_FILES[i].read_text(encoding="utf-8")


def docs(items) -> list[Document]:
    return [x for x in items if isinstance(x, Document)]


def quarantined(items) -> dict[str, Quarantined]:
    return {Path(q.source.split("#")[0]).name: q for q in items if isinstance(q, Quarantined)}


def one(items) -> Document | Quarantined:
    items = list(items)
    assert len(items) == 1, items
    return items[0]


def kind(x) -> str:
    """The quarantine reason, or the document's format."""
    return x.reason if isinstance(x, Quarantined) else x.format


def write_jsonl(path: Path, rows: list) -> None:
    path.write_text("".join((r if isinstance(r, str) else json.dumps(r, ensure_ascii=False)) + "\n" for r in rows),
                    encoding="utf-8")


# --- seeds and ids ------------------------------------------------------------------------------------------


def test_seeds_read_as_five_utf8_text_documents_in_order():
    items = list(read_many([SEEDS]))
    assert all(isinstance(x, Document) for x in items)
    assert [x.source for x in items] == [str(p) for p in SEED_FILES]
    for i, d in enumerate(items):
        text = seed_text(i)
        assert d.id == content_id(text)
        assert d.content == d.text == text
        assert (d.format, d.encoding, d.raw_ext) == ("text", "utf-8", ".txt")
        assert d.raw == SEED_FILES[i].read_bytes()
        assert d.provenance["read"]["bytes"] == len(d.raw)
    assert len({d.id for d in items}) == 5


def test_same_content_under_two_names_has_one_id(tmp_path):
    (tmp_path / "a.txt").write_bytes(SEED_FILES[0].read_bytes())
    (tmp_path / "b.html.gz").write_bytes(gzip.compress(SEED_FILES[0].read_bytes()))
    a, b = docs(read_many([tmp_path], format="text"))
    assert a.id == b.id == content_id(seed_text(0))
    assert (a.source, b.source) == (str(tmp_path / "a.txt"), str(tmp_path / "b.html.gz"))


def test_deterministic_order_and_hidden_entries_skipped(tmp_path):
    for rel in ["b/2.txt", "b/10.txt", "a.txt", "c/z/deep.htm", ".git/config.txt", ".done/x.txt", "b/.hidden.txt"]:
        (tmp_path / rel).parent.mkdir(parents=True, exist_ok=True)
        (tmp_path / rel).write_text(f"نص الملف {rel}", encoding="utf-8")
    expected = [tmp_path / r for r in ["a.txt", "b/10.txt", "b/2.txt", "c/z/deep.htm"]]
    assert list(discover([tmp_path])) == expected
    assert list(discover([tmp_path])) == expected  # again: same order
    assert [d.source for d in read_many([tmp_path])] == [str(p) for p in expected]


def test_unsupported_files_are_counted_in_folders_and_quarantined_when_named(tmp_path):
    (tmp_path / "a.txt").write_text("خبر عاجل", encoding="utf-8")
    (tmp_path / "report.pdf").write_bytes(b"%PDF-1.4 ...")
    (tmp_path / "notes.docx").write_bytes(b"PK\x03\x04....")
    (tmp_path / "b.pdf").write_bytes(b"%PDF-1.4 ...")
    found = discover([tmp_path])
    assert list(found) == [tmp_path / "a.txt"]
    assert found.skipped == [tmp_path / "b.pdf", tmp_path / "notes.docx", tmp_path / "report.pdf"]
    assert found.skipped_summary() == "skipped 3 unsupported files (.pdf: 2, .docx: 1)"

    # read_many reports them in place, without raw bytes; "skip" leaves them out
    items = list(read_many([tmp_path]))
    assert [type(x).__name__ for x in items] == ["Document", "Quarantined", "Quarantined", "Quarantined"]
    assert all(q.reason == "unsupported" and q.raw == b"" and q.detail for q in items[1:])
    assert [type(x).__name__ for x in read_many([tmp_path], unsupported="skip")] == ["Document"]

    # named explicitly: discover yields it, the reader quarantines it
    assert list(discover([tmp_path / "report.pdf"])) == [tmp_path / "report.pdf"]
    q = one(read_many([tmp_path / "report.pdf"]))
    assert q.reason == "unsupported" and ".pdf" in q.detail


# --- encodings ----------------------------------------------------------------------------------------------


def test_windows_1256_arabic_decodes(tmp_path):
    text = seed_text(2)
    data = text.encode("cp1256", errors="ignore")
    (tmp_path / "a.txt").write_bytes(data)
    d = one(read_path(tmp_path / "a.txt"))
    assert d.encoding == "cp1256"
    assert d.content == data.decode("cp1256")
    assert "بوتين لوزيرة خارجية كوريا الشمالية" in d.content
    assert d.raw == data


@pytest.mark.parametrize("codec,bom", [("utf-16-le", codecs.BOM_UTF16_LE), ("utf-16-be", codecs.BOM_UTF16_BE),
                                       ("utf-16-le", b""), ("utf-16-be", b""),
                                       ("utf-32-le", codecs.BOM_UTF32_LE), ("utf-8", codecs.BOM_UTF8)])
def test_utf16_utf32_with_and_without_bom(tmp_path, codec, bom):
    text = seed_text(1)
    (tmp_path / "a.txt").write_bytes(bom + text.encode(codec))
    d = one(read_path(tmp_path / "a.txt"))
    assert isinstance(d, Document), d
    assert d.content == text and d.encoding == codec
    assert d.id == content_id(text)


def test_utf16_without_bom_latin_text():
    text = "Breaking news: the minister said on Tuesday that talks would resume.\n" * 3
    d = one(read_bytes(text.encode("utf-16-be"), "<stdin>", "stdin"))
    assert d.content == text and d.encoding == "utf-16-be"


def test_html_meta_charset_is_used():
    html = '<html><head><meta charset="windows-1256"><title>خبر</title></head><body><p>مرحبا بالعالم</p></body></html>'
    d = one(read_bytes(html.encode("cp1256"), "x.html", "x.html"))
    assert d.content == html and d.encoding == "cp1256" and d.format == "html"
    latin = '<html><head><meta http-equiv="Content-Type" content="text/html; charset=ISO-8859-1"></head>' \
            '<body><p>Le président a déclaré</p></body></html>'
    d = one(read_bytes(latin.encode("latin-1"), "y.html", "y.html"))
    assert d.content == latin and d.encoding == "iso8859-1"


def test_utf8_with_a_stray_bad_byte_keeps_the_text():
    data = SEED_FILES[0].read_bytes()
    cut = data[:1000] + data[1001:]  # one byte of a two-byte Arabic letter lost
    d = one(read_bytes(cut, "x.txt", "x.txt"))
    assert d.encoding == "utf-8" and d.content.count("\ufffd") == 1
    assert d.provenance["read"]["replaced_bytes"] == 1
    assert d.content[:300] == seed_text(0)[:300] and d.content[-300:] == seed_text(0)[-300:]


def test_short_utf8_cut_in_a_character_is_utf8_not_a_guess():
    # 11 Arabic letters and a cut one: too short for the one-in-200 rule, and charset-normalizer
    # once read these bytes as Shift JIS (halfwidth katakana, language "ja")
    data = "مرحبا بالعالم".encode("utf-8")[:-1] + "نص".encode("utf-8")[:1] + b"\xd8"
    d = one(read_bytes(data, "cut.txt", "cut.txt"))
    assert d.encoding == "utf-8" and d.content.startswith("مرحبا بالعال") and d.content.count("\ufffd") == 3
    assert d.provenance["read"]["replaced_bytes"] == 3
    # damaged in many places: quarantined as undecodable UTF-8, not read as another encoding
    words = "قال الرئيس إن المفاوضات ستستأنف الأسبوع المقبل في جنيف".encode("utf-8")
    damaged = b"".join(words[i:i + 9] + b"\xd9" for i in range(0, len(words), 9))
    with pytest.raises(DecodeError) as exc:
        decode(damaged)
    assert exc.value.reason == "undecodable" and "UTF-8 with" in exc.value.detail
    # short legacy Arabic is still Windows-1256
    assert decode("قال الرئيس إن المفاوضات ستستأنف".encode("cp1256"))[1] == "cp1256"


def test_a_stray_nul_in_utf8_text_is_a_bad_byte_not_binary():
    data = SEED_FILES[0].read_bytes()
    d = one(read_bytes(data[:500] + b"\x00" + data[500:], "nul.txt", "nul.txt"))
    assert d.encoding == "utf-8" and d.provenance["read"]["replaced_bytes"] == 1
    assert d.content == seed_text(0)[:len(data[:500].decode("utf-8"))] + "\ufffd" + data[500:].decode("utf-8")
    # four NULs, or NULs among bytes that are not UTF-8, are binary data as before
    with pytest.raises(DecodeError) as exc:
        decode(data[:500] + b"\x00" * 4 + data[500:])
    assert exc.value.reason == "binary" and "4 NUL" in exc.value.detail
    with pytest.raises(DecodeError) as exc:
        decode("قال الرئيس".encode("cp1256") + b"\x00")
    assert exc.value.reason == "binary"


def test_western_european_legacy_text():
    text = "Le président a déclaré mardi que les négociations reprendraient à Genève. Où en est-on déjà?\n" * 5
    d = one(read_bytes(text.encode("cp1252"), "fr.txt", "fr.txt"))
    assert d.content == text and d.encoding == "cp1252"


def test_latin_text_is_not_mistaken_for_arabic():
    text = "Der Präsident äußerte sich über die Größe der Übung. Grüße aus München, schön!\n" * 20
    content, encoding = decode(text.encode("cp1252"))
    assert encoding != "cp1256"
    assert content == text


# --- formats ------------------------------------------------------------------------------------------------


def test_html_sniffing_and_forced_formats(tmp_path):
    page = "<!DOCTYPE html>\n<html><body><p>" + seed_text(0) + "</p></body></html>"
    (tmp_path / "page.txt").write_text(page, encoding="utf-8")
    (tmp_path / "plain.txt").write_text("السعر 5 < 7 و 9 > 3 في هذا الخبر", encoding="utf-8")
    (tmp_path / "frag.txt").write_text("<div><p>فقرة</p><p>أخرى</p><span>x</span><br><a href='#'>رابط</a></div>",
                                       encoding="utf-8")
    sniffed = one(read_path(tmp_path / "page.txt"))
    assert sniffed.format == "html" and sniffed.raw_ext == ".html" and sniffed.provenance["read"]["sniffed"]
    assert one(read_path(tmp_path / "plain.txt")).format == "text"
    assert one(read_path(tmp_path / "frag.txt")).format == "html"
    assert one(read_path(tmp_path / "page.txt", format="text")).format == "text"
    assert one(read_path(tmp_path / "plain.txt", format="html")).format == "html"
    assert not looks_like_html(seed_text(3))


def test_gzip_of_each_format(tmp_path):
    text = seed_text(0)
    html = f"<html><body><p>{text}</p></body></html>"
    (tmp_path / "a.txt.gz").write_bytes(gzip.compress(text.encode("utf-8")))
    (tmp_path / "b.html.gz").write_bytes(gzip.compress(html.encode("utf-8")))
    (tmp_path / "c.jsonl.gz").write_bytes(gzip.compress(
        (json.dumps({"text": text}) + "\n" + json.dumps({"html": html}) + "\n").encode("utf-8")))
    (tmp_path / "d.json.gz").write_bytes(gzip.compress(json.dumps([{"text": text}], indent=2).encode("utf-8")))
    (tmp_path / "e.htm.gz").write_bytes(gzip.compress(html.encode("cp1256")))
    items = list(read_many([tmp_path]))
    assert all(isinstance(x, Document) for x in items), items
    assert [(Path(d.source).name, d.format) for d in items] == [
        ("a.txt.gz", "text"), ("b.html.gz", "html"), ("c.jsonl.gz#L1", "text"), ("c.jsonl.gz#L2", "html"),
        ("d.json.gz#0", "text"), ("e.htm.gz", "html")]
    assert items[0].content == items[2].content == items[4].content == text
    assert items[1].content == items[3].content == items[5].content == html
    assert items[5].encoding == "cp1256"
    assert items[0].raw == text.encode("utf-8") and items[0].provenance["read"]["gzip"]


def test_gzip_data_under_a_plain_name_is_decompressed(tmp_path):
    (tmp_path / "a.txt").write_bytes(gzip.compress(seed_text(4).encode("utf-8")))
    assert one(read_path(tmp_path / "a.txt")).content == seed_text(4)


# --- JSON ---------------------------------------------------------------------------------------------------


def test_jsonl_fields_bad_line_and_line_without_text(tmp_path):
    path = tmp_path / "feed.jsonl"
    write_jsonl(path, [
        {"text": seed_text(0), "url": "https://example.org/a", "published": "2024-06-19T14:49:00+03:00",
         "source": "سبوتنيك", "title": "عنوان", "reference_date": "2024-06-20"},
        "{not json",
        {"url": "https://example.org/no-text", "title": "x"},
        "",
        {"html": "<p>" + seed_text(1) + "</p>", "published": 1718797740},
        [1, 2],
        {"text": "   "},
    ])
    items = list(read_path(path, reference_date="2024-01-01"))
    assert [x.source for x in items] == [f"{path}#L{n}" for n in (1, 2, 3, 5, 6, 7)]
    a, bad, notext, b, arr, blank = items
    assert isinstance(a, Document) and a.format == "text" and a.content == seed_text(0)
    assert (a.url, a.site_name, a.title, a.published, a.published_source, a.reference_date) == (
        "https://example.org/a", "سبوتنيك", "عنوان", "2024-06-19T14:49:00+03:00", "input", "2024-06-20")
    assert a.raw_ext == ".json" and json.loads(a.raw)["url"] == "https://example.org/a"
    assert bad.reason == "invalid_json" and "line 2" in bad.detail and bad.raw == b"{not json"
    assert notext.reason == "no_text" and "line 3" in notext.detail and "title, url" in notext.detail
    assert isinstance(b, Document) and b.format == "html" and b.published == "2024-06-19T11:49:00+00:00"
    assert b.reference_date == "2024-01-01"
    assert arr.reason == "invalid_json" and "list" in arr.detail
    assert blank.reason == "no_text"


def test_json_object_array_and_lines_in_a_json_file(tmp_path):
    (tmp_path / "one.json").write_text(json.dumps({"text": seed_text(0), "url": "u"}, indent=2), encoding="utf-8")
    (tmp_path / "many.json").write_text(json.dumps([{"text": seed_text(1)}, "oops", {"html": "<p>x</p>"}]),
                                        encoding="utf-8")
    write_jsonl(tmp_path / "lines.json", [{"text": seed_text(2)}, {"text": seed_text(3)}])
    (tmp_path / "scalar.json").write_text("42", encoding="utf-8")
    (tmp_path / "broken.json").write_text('{\n  "text": "abc",\n', encoding="utf-8")
    (tmp_path / "empty.json").write_text("[]", encoding="utf-8")
    items = list(read_many([tmp_path]))
    got = [(Path(x.source).name, kind(x)) for x in items]
    assert got == [("broken.json", "invalid_json"), ("empty.json", "no_text"), ("lines.json#L1", "text"),
                   ("lines.json#L2", "text"), ("many.json#0", "text"), ("many.json#1", "invalid_json"),
                   ("many.json#2", "html"), ("one.json", "text"), ("scalar.json", "invalid_json")]
    assert items[-2].url == "u" and items[-2].content == seed_text(0)


def test_jsonl_in_utf16_with_bom(tmp_path):
    rows = json.dumps({"text": seed_text(0)}, ensure_ascii=False) + "\n" + json.dumps({"text": "ثاني"}) + "\n"
    (tmp_path / "a.jsonl").write_bytes(codecs.BOM_UTF16_LE + rows.encode("utf-16-le"))
    a, b = read_path(tmp_path / "a.jsonl")
    assert a.content == seed_text(0) and b.content == "ثاني" and a.encoding == "utf-16-le"


def test_jsonl_size_limit_is_per_line(tmp_path):
    path = tmp_path / "big.jsonl"
    write_jsonl(path, [{"text": "خبر قصير"}, {"text": "كلمة " * 5000}, {"text": "خبر آخر"}])
    items = list(read_path(path, max_bytes=2000))
    assert [kind(x) for x in items] == ["text", "too_large", "text"]
    assert items[1].source == f"{path}#L2" and len(items[1].raw) == 2000 and "line 2" in items[1].detail


# --- quarantine ---------------------------------------------------------------------------------------------


def test_each_bad_kind_is_quarantined_and_good_files_still_come_out(tmp_path):
    whole = gzip.compress(SEED_FILES[4].read_bytes())
    files = {
        "good.txt": SEED_FILES[1].read_bytes(),
        "good-1256.txt": seed_text(2).encode("cp1256", errors="ignore"),
        "empty.txt": b"",
        "blank.html": b"  \n\t \r\n",
        "image.txt": b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 8,
        "doc.htm": b"%PDF-1.7\n%\xe2\xe3\xcf\xd3\n1 0 obj",
        "nuls.txt": b"abc\x00\x00\x00\x01\x02\xff" * 50,
        "ctrl.txt": bytes(range(1, 9)) * 100,
        "mojibake.txt": bytes(random.Random(7).randrange(0x80, 0x100) for _ in range(3000)),
        "cut.txt.gz": whole[: len(whole) // 2],
        "notgz.html.gz": b"<html>not compressed</html>",
        "corrupt.txt.gz": whole[:10] + b"\x00" * 40 + whole[50:],
        "huge.txt": ("كلمة " * 60_000).encode("utf-8"),
    }
    for name, data in files.items():
        (tmp_path / name).write_bytes(data)
    items = list(read_many([tmp_path], max_bytes=200_000))
    good = docs(items)
    assert sorted(Path(d.source).name for d in good) == ["good-1256.txt", "good.txt"]
    q = quarantined(items)
    assert {n: x.reason for n, x in q.items()} == {
        "empty.txt": "empty", "blank.html": "empty", "image.txt": "binary", "doc.htm": "binary",
        "nuls.txt": "binary", "ctrl.txt": "binary", "mojibake.txt": "undecodable", "cut.txt.gz": "truncated_gzip",
        "notgz.html.gz": "bad_gzip", "corrupt.txt.gz": "bad_gzip", "huge.txt": "too_large"}
    assert all(x.detail for x in q.values())
    assert "PNG" in q["image.txt"].detail and q["image.txt"].raw_ext == ".png"
    assert "PDF" in q["doc.htm"].detail
    assert "NUL" in q["nuls.txt"].detail
    assert q["cut.txt.gz"].raw == files["cut.txt.gz"] and q["cut.txt.gz"].raw_ext == ".txt.gz"
    assert q["huge.txt"].detail == ("file is 0.5 MB, over the 0.2 MB limit (NEWSFLOW_MAX_BYTES); "
                                    "only the first 0.2 MB were kept")
    assert len(q["huge.txt"].raw) == 200_000
    assert len(items) == len(files)  # nothing dropped


def test_huge_file_is_not_read_past_the_limit(tmp_path):
    import tracemalloc

    big = tmp_path / "big.txt"
    with open(big, "wb") as fh:
        fh.truncate(50 * 1024 * 1024)  # sparse: 50 MB on paper
    tracemalloc.start()
    try:
        q = one(read_path(big, max_bytes=1000))
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert q.reason == "too_large" and q.detail.startswith("file is 50.0 MB, over the 0.0 MB limit")
    assert len(q.raw) == 1000
    assert peak < 200_000, peak  # max_bytes + 1 were read, not 50 MB


def test_truncated_jsonl_gzip_keeps_the_lines_before_the_cut(tmp_path):
    rows = "".join(json.dumps({"text": seed_text(i % 5) + str(i)}, ensure_ascii=False) + "\n" for i in range(40))
    whole = gzip.compress(rows.encode("utf-8"))
    (tmp_path / "feed.jsonl.gz").write_bytes(whole[: len(whole) * 3 // 4])
    items = list(read_path(tmp_path / "feed.jsonl.gz"))
    assert all(isinstance(d, Document) for d in items[:-1]) and len(items) >= 2
    assert [d.source.rsplit("#", 1)[1] for d in items[:-1]] == [f"L{n}" for n in range(1, len(items))]
    assert items[-1].reason == "truncated_gzip" and items[-1].raw_ext == ".jsonl.gz"


def test_gzip_bomb_stops_at_the_limit(tmp_path):
    bomb = tmp_path / "bomb.txt.gz"
    with gzip.open(bomb, "wb", compresslevel=9) as gz:
        block = b"a" * (1 << 20)
        for _ in range(64):  # 64 MB of 'a' in ~64 KB
            gz.write(block)
    assert bomb.stat().st_size < 200_000
    q = one(read_path(bomb, max_bytes=100_000))
    assert q.reason == "too_large" and "decompresses to more than" in q.detail and len(q.raw) == 100_000


def test_missing_files_and_broken_links_are_unreadable(tmp_path):
    missing = one(read_path(tmp_path / "nope.txt"))
    assert missing.reason == "unreadable" and "No such file" in missing.detail
    (tmp_path / "a.txt").write_text("نص", encoding="utf-8")
    (tmp_path / "b.txt").symlink_to(tmp_path / "gone.txt")
    items = list(read_many([tmp_path]))
    assert [kind(x) for x in items] == ["text", "unreadable"] and items[1].source == str(tmp_path / "b.txt")


def test_permission_denied_is_unreadable(tmp_path):
    locked = tmp_path / "locked.txt"
    locked.write_text("نص", encoding="utf-8")
    locked.chmod(0)
    try:
        if os.access(locked, os.R_OK):  # running as root: permissions do not apply
            pytest.skip("root can read a chmod 000 file")
        q = one(read_path(locked))
        assert q.reason == "unreadable" and "Permission denied" in q.detail
    finally:
        locked.chmod(0o644)


def test_max_bytes_defaults_to_the_setting(tmp_path, monkeypatch):
    monkeypatch.setenv("NEWSFLOW_MAX_BYTES", "100")
    (tmp_path / "a.txt").write_text("خبر " * 100, encoding="utf-8")
    q = one(read_path(tmp_path / "a.txt"))
    assert q.reason == "too_large"


# --- stdin --------------------------------------------------------------------------------------------------


def test_read_bytes_like_stdin():
    data = SEED_FILES[3].read_bytes()
    d = one(read_bytes(data, source="<stdin>", name="stdin", reference_date="2024-06-19"))
    assert (d.source, d.content, d.format, d.reference_date) == ("<stdin>", seed_text(3), "text", "2024-06-19")
    lines = (json.dumps({"text": "أ"}) + "\n" + json.dumps({"html": "<p>ب</p>"}) + "\n").encode()
    assert [(x.source, x.format) for x in read_bytes(lines, "<stdin>", "stdin")] == [
        ("<stdin>#L1", "text"), ("<stdin>#L2", "html")]
    assert one(read_bytes(gzip.compress(data), "<stdin>", "stdin")).content == seed_text(3)
    assert one(read_bytes(b"", "<stdin>", "stdin")).reason == "empty"
    page = b"<!doctype html><html><body><p>x</p></body></html>"
    assert one(read_bytes(page, "<stdin>", "stdin")).format == "html"


def test_bad_arguments_raise():
    with pytest.raises(ValueError):
        list(read_bytes(b"x", "s", "s.txt", format="markdown"))
    with pytest.raises(ValueError):
        list(read_bytes(b"x", "s", "s.txt", reference_date="yesterday"))


def test_big_jsonl_streams_with_flat_memory(tmp_path):
    import tracemalloc

    path = tmp_path / "big.jsonl"
    row = json.dumps({"text": seed_text(0), "url": "https://example.org/x"}, ensure_ascii=False)
    with open(path, "w", encoding="utf-8") as fh:
        for i in range(1500):  # ~6.5 MB
            fh.write(row.replace("/x", f"/{i}") + "\n")
    assert path.stat().st_size > 6_000_000
    tracemalloc.start()
    try:
        count = 0
        for d in read_path(path, max_bytes=1_000_000):
            assert isinstance(d, Document)
            count += 1
        _, peak = tracemalloc.get_traced_memory()
    finally:
        tracemalloc.stop()
    assert count == 1500
    assert peak < 2_000_000, peak  # a few lines at a time, not the file
