"""The reader: find inputs, decode them, turn them into Documents or quarantine records.

Plain Python, streaming: folders are walked lazily (one directory listing at a
time), every file is read with a size cap, and JSON lines files are read one
line at a time, so memory stays flat however large the corpus is.

Public API
----------
``discover(paths) -> Discovery``
    Iterates the files to read, in a deterministic order (each directory's
    entries sorted by name, depth first). Hidden files and folders (``.git``,
    ``.done``...) are skipped inside walked folders. A file named explicitly is
    always yielded (the reader then quarantines it as ``unsupported`` if need
    be). Files with other extensions found while walking a folder are not
    yielded; they are listed in ``Discovery.skipped`` (see
    ``Discovery.skipped_summary()`` for "skipped 3 unsupported files (.pdf: 2,
    .docx: 1)").
``read_path(path, *, format, max_bytes, reference_date)``
    Yields the Documents and Quarantined records of one file.
``read_bytes(data, source, name, *, format, max_bytes, reference_date)``
    The same for bytes already in memory (standard input); ``name`` only gives
    the extension. With no known extension the content is sniffed (gzip, JSON,
    HTML, text).
``read_many(paths, *, format, max_bytes, reference_date, unsupported)``
    discover + read_path, in order. Unsupported files met inside walked folders
    are yielded as ``Quarantined(reason="unsupported")`` (no raw bytes kept)
    unless ``unsupported="skip"``.

Accepted inputs: ``.txt``, ``.html``/``.htm``, ``.json``/``.jsonl`` and any of
these compressed with gzip (``a.html.gz``).

Quarantine reasons: empty, binary, undecodable, truncated_gzip, bad_gzip,
invalid_json, no_text, too_large, unreadable, unsupported.
"""
from __future__ import annotations

import codecs
import gzip
import io
import json
import os
import re
import unicodedata
import zlib
from dataclasses import dataclass, field
from datetime import date, datetime, timezone
from email.utils import parsedate_to_datetime
from pathlib import Path
from typing import Any, BinaryIO, Iterable, Iterator

from newsflow.document import Document, Quarantined

READER_VERSION = "1"
TEXT_EXTS = {".txt": "text", ".html": "html", ".htm": "html"}
JSON_EXTS = {".json", ".jsonl"}
SUPPORTED_EXTS = tuple(sorted(set(TEXT_EXTS) | JSON_EXTS))
FORMATS = ("auto", "text", "html")

_CHUNK = 1 << 20
_SNIFF = 8192
_SAMPLE = 16384  # characters looked at by the plausibility checks
UTF8_SHARE = 0.8  # of the non-ASCII bytes, in valid UTF-8 sequences: UTF-8 text (legacy 8-bit text: 0.01-0.02)
UTF8_FEW_BAD = 3  # this many bad bytes are a damaged end or a stray byte whatever the text's length
_ASCII_BYTES = bytes(range(128))

# Known binary formats, checked on the first bytes: (magic, offset, what it is, extension).
_MAGIC: tuple[tuple[bytes, int, str, str], ...] = (
    (b"\x89PNG\r\n\x1a\n", 0, "a PNG image", ".png"),
    (b"\xff\xd8\xff", 0, "a JPEG image", ".jpg"),
    (b"GIF87a", 0, "a GIF image", ".gif"),
    (b"GIF89a", 0, "a GIF image", ".gif"),
    (b"%PDF-", 0, "a PDF document", ".pdf"),
    (b"PK\x03\x04", 0, "a ZIP archive (or docx/xlsx/epub)", ".zip"),
    (b"PK\x05\x06", 0, "an empty ZIP archive", ".zip"),
    (b"\x7fELF", 0, "an ELF executable", ".elf"),
    (b"BZh", 0, "bzip2-compressed data", ".bz2"),
    (b"\xfd7zXZ\x00", 0, "xz-compressed data", ".xz"),
    (b"\x28\xb5\x2f\xfd", 0, "zstd-compressed data", ".zst"),
    (b"7z\xbc\xaf\x27\x1c", 0, "a 7-Zip archive", ".7z"),
    (b"Rar!\x1a\x07", 0, "a RAR archive", ".rar"),
    (b"WEBP", 8, "a WebP image", ".webp"),
    (b"ftyp", 4, "an MP4/MOV video", ".mp4"),
    (b"OggS", 0, "an Ogg media file", ".ogg"),
    (b"ID3", 0, "an MP3 audio file", ".mp3"),
    (b"SQLite format 3\x00", 0, "an SQLite database", ".sqlite"),
    (b"\xca\xfe\xba\xbe", 0, "a Java class / Mach-O file", ".bin"),
    (b"\xcf\xfa\xed\xfe", 0, "a Mach-O executable", ".bin"),
    (b"\x00asm", 0, "a WebAssembly module", ".wasm"),
    (b"II*\x00", 0, "a TIFF image", ".tif"),
    (b"MM\x00*", 0, "a TIFF image", ".tif"),
    (b"\xd0\xcf\x11\xe0\xa1\xb1\x1a\xe1", 0, "an old Microsoft Office document", ".doc"),
)

_BOMS = (  # UTF-32 before UTF-16: the UTF-32-LE BOM starts with the UTF-16-LE one
    (codecs.BOM_UTF32_LE, "utf-32-le"),
    (codecs.BOM_UTF32_BE, "utf-32-be"),
    (codecs.BOM_UTF8, "utf-8"),
    (codecs.BOM_UTF16_LE, "utf-16-le"),
    (codecs.BOM_UTF16_BE, "utf-16-be"),
)

_META_CHARSET = re.compile(
    rb"""<meta[^>]+charset\s*=\s*["']?\s*([A-Za-z0-9_\-:.]+)|<\?xml[^>]+encoding\s*=\s*["']([A-Za-z0-9_\-.]+)""",
    re.IGNORECASE)
_HTML_START = re.compile(r"^\s*(<!--.*?-->\s*)*<(!doctype\s+html|html[\s>])", re.IGNORECASE | re.DOTALL)
_HTML_TAG = re.compile(
    r"</?(html|head|body|div|p|span|a|br|script|style|meta|link|table|tr|td|ul|ol|li|h[1-6]|article|section"
    r"|img|header|footer|nav|main|title|iframe|form|input|strong|em|b|i)\b[^<>]{0,2000}>", re.IGNORECASE)
_CONTROL = re.compile("[\x00-\x08\x0e-\x1f\x7f]")
_LETTER = re.compile(r"[^\W\d_]")
_NON_ASCII_LETTER = re.compile(r"[^\W\d_\x00-\x7f]")
_SPACE_CHAR = re.compile(r"\s")
_ARABIC_LETTER = re.compile("[\u0620-\u064a\u066e-\u06d3\u06fa-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufefc]")


def _mb(n: int) -> str:
    return f"{n / (1024 * 1024):.1f} MB"


def _limit_text(max_bytes: int) -> str:
    return f"the {_mb(max_bytes)} limit (NEWSFLOW_MAX_BYTES)"


def _default_max_bytes() -> int:
    from newsflow.config import Settings

    return Settings.from_env().max_bytes


# ---------------------------------------------------------------------------------------------
# discovery


@dataclass
class Discovery:
    """Iterable of the Paths to read. Walking is lazy; `skipped` fills as it goes."""

    paths: list[str | Path]
    skipped: list[Path] = field(default_factory=list)

    def __iter__(self) -> Iterator[Path]:
        for path, explicit, supported in _walk(self.paths):
            if supported or explicit:
                yield path
            else:
                self.skipped.append(path)

    def skipped_summary(self) -> str:
        """e.g. 'skipped 3 unsupported files (.pdf: 2, .docx: 1)', or '' if none."""
        if not self.skipped:
            return ""
        counts: dict[str, int] = {}
        for p in self.skipped:
            ext = p.suffix.lower() or "(no extension)"
            counts[ext] = counts.get(ext, 0) + 1
        parts = ", ".join(f"{e}: {n}" for e, n in sorted(counts.items(), key=lambda kv: (-kv[1], kv[0])))
        n = len(self.skipped)
        return f"skipped {n} unsupported file{'s' if n != 1 else ''} ({parts})"


def discover(paths: Iterable[str | Path]) -> Discovery:
    """Files under `paths` to read, in deterministic order (see module docstring)."""
    if isinstance(paths, (str, Path)):
        paths = [paths]
    return Discovery(list(paths))


def input_kind(name: str) -> tuple[str | None, bool]:
    """(inner extension or None if unsupported, gzipped?) from a file name."""
    lower = name.lower()
    gz = lower.endswith(".gz")
    if gz:
        lower = lower[:-3]
    ext = os.path.splitext(lower)[1]
    return (ext if ext in TEXT_EXTS or ext in JSON_EXTS else None), gz


def _walk(paths: Iterable[str | Path]) -> Iterator[tuple[Path, bool, bool]]:
    """(path, named explicitly?, supported extension?) for every file, lazily."""
    for given in paths:
        p = Path(given)
        if p.is_dir():
            yield from _walk_dir(p)
        else:  # a file, or something missing/unreadable: the reader reports it
            yield p, True, input_kind(p.name)[0] is not None


def _walk_dir(folder: Path) -> Iterator[tuple[Path, bool, bool]]:
    try:
        with os.scandir(folder) as it:
            entries = sorted((e for e in it if not e.name.startswith(".")), key=lambda e: e.name)
    except OSError:
        yield folder, True, True  # read_path turns it into an `unreadable` record
        return
    for e in entries:
        try:
            is_dir = e.is_dir()  # follows symlinks; os.scandir does not recurse on its own
        except OSError:
            is_dir = False
        if is_dir:
            if not e.is_symlink():  # never follow directory links: no cycles
                yield from _walk_dir(Path(e.path))
        else:
            yield Path(e.path), False, input_kind(e.name)[0] is not None


# ---------------------------------------------------------------------------------------------
# decoding


class DecodeError(Exception):
    def __init__(self, reason: str, detail: str, raw_ext: str | None = None):
        super().__init__(detail)
        self.reason, self.detail, self.raw_ext = reason, detail, raw_ext


def sniff_binary(data: bytes) -> tuple[str, str] | None:
    """(what it is, extension) when the bytes start with a known binary magic number."""
    for magic, offset, what, ext in _MAGIC:
        if data[offset:offset + len(magic)] == magic:
            if magic == b"WEBP" and not data.startswith(b"RIFF"):
                continue
            return what, ext
    return None


def arabic_share(text: str) -> tuple[int, float]:
    """(number of Arabic letters, their share among all letters) in a sample of `text`."""
    sample = text[:_SAMPLE]
    letters = len(_LETTER.findall(sample))
    arabic = len(_ARABIC_LETTER.findall(sample))
    return arabic, (arabic / letters if letters else 0.0)


def _utf16_without_bom(data: bytes) -> str | None:
    """'utf-16-le'/'utf-16-be' when NUL bytes sit on one parity only (UTF-16 text without BOM)."""
    sample = data[:_SNIFF] if len(data) > _SNIFF else data
    if len(sample) < 4:
        return None
    even, odd = sample[0::2], sample[1::2]
    ze, zo = even.count(0), odd.count(0)
    # text in UTF-16 has NULs as high bytes of ASCII (spaces, digits, Latin letters)
    if zo >= max(2, len(odd) // 20) and ze <= len(even) // 200:
        return "utf-16-le"
    if ze >= max(2, len(even) // 20) and zo <= len(odd) // 200:
        return "utf-16-be"
    return None


def _utf32_without_bom(data: bytes) -> str | None:
    sample = data[:_SNIFF - _SNIFF % 4]
    if len(sample) < 8 or len(data) % 4:
        return None
    if sample[2::4].count(0) == len(sample[2::4]) and sample[3::4].count(0) == len(sample[3::4]):
        return "utf-32-le"
    if sample[0::4].count(0) == len(sample[0::4]) and sample[1::4].count(0) == len(sample[1::4]):
        return "utf-32-be"
    return None


def _utf8_damage(data: bytes) -> tuple[str, int, int, float]:
    """(text with U+FFFD for each bad byte run, bad runs, good non-ASCII characters, share of the
    non-ASCII bytes that form valid UTF-8 sequences)."""
    text = data.decode("utf-8", errors="replace")
    bad = text.count("\ufffd") - data.count(b"\xef\xbf\xbd")
    good = "".join(c for c in text if c > "\x7f" and c != "\ufffd")
    high = len(data.translate(None, _ASCII_BYTES))
    return text, bad, len(good), (len(good.encode("utf-8")) / high if high else 1.0)


def _declared_charset(data: bytes) -> str | None:
    m = _META_CHARSET.search(data[:4096])
    if not m:
        return None
    label = (m.group(1) or m.group(2)).decode("ascii", "ignore").strip().lower()
    try:
        name = codecs.lookup(label).name
    except LookupError:
        return None
    if name in ("utf-16", "utf-16-le", "utf-16-be", "utf-32"):  # an 8-bit page cannot really be UTF-16
        return None
    return name


def _plausible(text: str) -> bool:
    """No more control characters than a stray few."""
    bad = len(_CONTROL.findall(text[:_SAMPLE]))
    return bad <= max(2, min(len(text), _SAMPLE) // 1000)


_WORD = re.compile(r"[^\W\d_]{2,}")


def _prose_like(text: str) -> bool:
    """Letters make most of the non-space characters and come as words, not scattered."""
    sample = text[:_SAMPLE]
    letters = len(_LETTER.findall(sample))
    visible = len(sample) - len(_SPACE_CHAR.findall(sample))
    in_words = sum(len(w) for w in _WORD.findall(sample))
    spaces = len(sample) - visible
    spaced = visible < 100 or spaces >= visible / 25  # words are separated
    return visible > 0 and letters >= 0.5 * visible and in_words >= 0.7 * letters and spaced


def _plausibly_arabic(text: str) -> bool:
    arabic, share = arabic_share(text)
    return arabic >= 3 and share >= 0.5 and _prose_like(text)


def _plausibly_latin(text: str) -> bool:
    """Western European text: accented letters are a minority of the letters."""
    sample = text[:_SAMPLE]
    letters = len(_LETTER.findall(sample))
    accented = len(_NON_ASCII_LETTER.findall(sample))
    return letters > 0 and accented <= 0.25 * letters and _prose_like(text)


def _charset_normalizer(data: bytes) -> tuple[str, str] | None:
    try:
        from charset_normalizer import from_bytes
    except ImportError:  # pragma: no cover - it comes with requests
        return None
    best = from_bytes(data[:65536]).best()
    if best is None or best.encoding in ("utf_8", "ascii") or best.chaos > 0.2:
        return None
    try:
        text = data.decode(best.encoding)
    except (UnicodeDecodeError, LookupError):
        return None
    if not (_prose_like(text) and _plausible(text)):
        return None
    return text, codecs.lookup(best.encoding).name


def decode(data: bytes) -> tuple[str, str]:
    """(text, encoding name) or raise DecodeError(reason in binary/undecodable).

    Order: BOM; UTF-32/UTF-16 without BOM (NUL pattern); UTF-8 with up to three
    stray NULs (U+FFFD), other text with NULs being binary; strict UTF-8; UTF-8
    with at most one bad byte per 200 good non-ASCII characters, or up to three
    when its other non-ASCII bytes are valid UTF-8 (U+FFFD), while UTF-8 damaged
    worse is undecodable (no 8-bit reading of it); the
    charset an HTML <meta> or XML declaration gives; Windows-1256 (or
    ISO-8859-6) when the result is plausibly Arabic; Windows-1252 when it reads
    as Western European prose; charset-normalizer's guess when its result reads
    as prose.
    """
    for bom, enc in _BOMS:
        if data.startswith(bom):
            try:
                return data[len(bom):].decode(enc), enc
            except UnicodeDecodeError as exc:
                raise DecodeError("undecodable", f"starts with a {enc.upper()} byte order mark but is not "
                                                 f"valid {enc.upper()} (byte {exc.start + len(bom)})") from None
    if b"\x00" in data:
        enc = _utf32_without_bom(data) or _utf16_without_bom(data)
        if enc:
            try:
                text = data.decode(enc)
            except UnicodeDecodeError:
                text = None
            if text is not None and _plausible(text):
                return text, enc
        nuls = data.count(0)
        if nuls <= UTF8_FEW_BAD:
            # a stray NUL or three in UTF-8 text (a bad write, a string copied with its terminator) is a bad
            # byte like any other: U+FFFD in its place; more NULs, or NULs among bytes that are not UTF-8, are
            # binary data
            try:
                return data.replace(b"\x00", b"\xef\xbf\xbd").decode("utf-8"), "utf-8"
            except UnicodeDecodeError:
                pass
        raise DecodeError("binary", f"contains {nuls} NUL byte(s) and is not UTF-16/UTF-32 text")
    try:
        return data.decode("utf-8"), "utf-8"
    except UnicodeDecodeError as exc:
        utf8_error = exc
    # UTF-8 with a rare bad byte (a cut multi-byte character, a stray byte): the text with U+FFFD in their
    # place. Rare is one per 200 good non-ASCII characters, or up to three in a text whose non-ASCII bytes
    # are otherwise valid UTF-8 (a short text cut in the middle of a character). Legacy 8-bit text is never
    # mostly valid UTF-8 (1-2% of its non-ASCII bytes fall into valid sequences by chance).
    text, bad, good, share = _utf8_damage(data)
    if bad * 200 <= good or (bad <= UTF8_FEW_BAD and share >= UTF8_SHARE):
        return text, "utf-8"
    if share >= UTF8_SHARE:
        # damaged UTF-8, not another encoding: an 8-bit reading of it is mojibake (as Windows-1256, Arabic
        # UTF-8 reads as runs of ط and ظ that look like Arabic; charset-normalizer once took it for Shift JIS)
        raise DecodeError("undecodable", f"is UTF-8 with {bad} damaged byte sequence(s) (the first at offset "
                                         f"{utf8_error.start}), too many to replace")
    declared = _declared_charset(data)
    if declared and declared != "utf-8":
        try:
            return data.decode(declared), declared
        except UnicodeDecodeError:
            pass
    candidates = []
    for enc in ("cp1256", "iso8859-6"):
        try:
            text = data.decode(enc)
        except UnicodeDecodeError:
            continue
        if _plausibly_arabic(text):
            candidates.append((arabic_share(text)[1], enc, text))
    if candidates:
        # cp1256 first on ties: it is by far the more common of the two
        _, enc, text = max(candidates, key=lambda c: (c[0], c[1] == "cp1256"))
        return text, enc
    try:
        text = data.decode("cp1252")
    except UnicodeDecodeError:
        text = ""
    if text and _plausibly_latin(text):
        return text, "cp1252"
    guessed = _charset_normalizer(data)
    if guessed:
        return guessed
    raise DecodeError("undecodable", f"is not valid UTF-8 (invalid byte 0x{data[utf8_error.start]:02x} at offset "
                                     f"{utf8_error.start}) and no other encoding fits: not plausibly Arabic in "
                                     f"Windows-1256, no clean guess from charset-normalizer")


def looks_like_html(text: str) -> bool:
    """Doctype/<html> at the start, or markup dense enough that it is clearly HTML."""
    head = text[:_SNIFF]
    if _HTML_START.match(head):
        return True
    tags = list(_HTML_TAG.finditer(head))
    if len(tags) < 5:
        return False
    markup = sum(m.end() - m.start() for m in tags)
    return markup >= 0.15 * len(head.strip())


# ---------------------------------------------------------------------------------------------
# reading


@dataclass
class _Ctx:
    source: str
    name: str
    ext: str | None  # inner extension, None when unknown (stdin)
    gz: bool
    format: str
    max_bytes: int
    reference_date: str | None
    size: int | None = None  # on-disk size when known

    def quarantine(self, reason: str, detail: str, raw: bytes = b"", raw_ext: str | None = None,
                   source: str | None = None) -> Quarantined:
        return Quarantined(source=source or self.source, reason=reason, detail=detail, raw=raw,
                           raw_ext=raw_ext or self.raw_ext)

    @property
    def raw_ext(self) -> str:
        return (self.ext or ".bin") + (".gz" if self.gz else "")


def read_path(path: str | Path, *, format: str = "auto", max_bytes: int | None = None,
              reference_date: str | None = None) -> Iterator[Document | Quarantined]:
    """Documents and quarantine records from one file (see module docstring)."""
    source = str(path)
    ctx = _context(source, Path(path).name, format, max_bytes, reference_date)
    ext, _ = input_kind(ctx.name)
    if ext is None:
        yield ctx.quarantine("unsupported", f"{Path(path).suffix or 'files without an extension'} is not a "
                             f"supported input ({', '.join(SUPPORTED_EXTS)}, or .gz of these); nothing was read",
                             raw_ext=".bin")
        return
    try:
        fh = open(path, "rb")
    except IsADirectoryError:
        yield ctx.quarantine("unreadable", "folder could not be listed")
        return
    except OSError as exc:
        yield ctx.quarantine("unreadable", f"file cannot be opened: {exc.strerror or exc}")
        return
    with fh:
        try:
            ctx.size = os.fstat(fh.fileno()).st_size
        except OSError:
            pass
        yield from _read_stream(fh, ctx)


def read_bytes(data: bytes, source: str, name: str = "", *, format: str = "auto", max_bytes: int | None = None,
               reference_date: str | None = None) -> Iterator[Document | Quarantined]:
    """Documents and quarantine records from bytes in memory (e.g. standard input)."""
    ctx = _context(source, name, format, max_bytes, reference_date)
    ctx.size = len(data)
    yield from _read_stream(io.BytesIO(data), ctx)


def read_many(paths: Iterable[str | Path], *, format: str = "auto", max_bytes: int | None = None,
              reference_date: str | None = None, unsupported: str = "quarantine") -> Iterator[Document | Quarantined]:
    """discover + read_path. Unsupported files inside walked folders are yielded as
    Quarantined(reason='unsupported', no raw bytes) unless unsupported='skip'."""
    if unsupported not in ("quarantine", "skip"):
        raise ValueError("unsupported must be 'quarantine' or 'skip'")
    if max_bytes is None:
        max_bytes = _default_max_bytes()
    if isinstance(paths, (str, Path)):
        paths = [paths]
    for path, explicit, supported in _walk(paths):
        if supported or explicit:
            yield from read_path(path, format=format, max_bytes=max_bytes, reference_date=reference_date)
        elif unsupported == "quarantine":
            yield Quarantined(source=str(path), reason="unsupported", raw_ext=".bin",
                              detail=f"skipped while walking the folder: {path.suffix or 'no extension'} is not "
                                     f"a supported input ({', '.join(SUPPORTED_EXTS)}, or .gz of these)")


def _context(source: str, name: str, format: str, max_bytes: int | None, reference_date: str | None) -> _Ctx:
    if format not in FORMATS:
        raise ValueError(f"format must be one of {', '.join(FORMATS)}, not {format!r}")
    if max_bytes is None:
        max_bytes = _default_max_bytes()
    ext, gz = input_kind(name)
    ref = None
    if reference_date:
        ref = _iso_date(reference_date)
        if ref is None:
            raise ValueError(f"reference_date must be a date such as 2024-06-19, not {reference_date!r}")
    return _Ctx(source=source, name=name, ext=ext, gz=gz, format=format, max_bytes=max_bytes, reference_date=ref)


def _read_stream(fh: BinaryIO, ctx: _Ctx) -> Iterator[Document | Quarantined]:
    try:
        head = fh.read(2)
        fh.seek(0)
    except OSError as exc:
        yield ctx.quarantine("unreadable", f"file could not be read: {exc.strerror or exc}")
        return
    stream: BinaryIO = fh
    if head == b"\x1f\x8b":
        stream = gzip.GzipFile(fileobj=fh, mode="rb")  # type: ignore[assignment]
        ctx.gz = True
    elif ctx.gz:
        yield ctx.quarantine("bad_gzip", "file is named .gz but is not gzip data (no gzip header)",
                             raw=_head(fh, ctx.max_bytes))
        return
    try:
        if ctx.ext in JSON_EXTS or (ctx.ext is None and _starts_like_json(stream)):
            yield from _read_json(stream, ctx)
        else:
            yield _read_single(stream, ctx)
    except EOFError:
        yield ctx.quarantine("truncated_gzip", "the gzip data ends early (file cut short?); what it held could "
                             "not be read" + (" past the documents above" if ctx.ext in JSON_EXTS else ""),
                             raw=_head(fh, ctx.max_bytes))
    except (gzip.BadGzipFile, zlib.error) as exc:
        yield ctx.quarantine("bad_gzip", f"the gzip data is corrupt ({exc})", raw=_head(fh, ctx.max_bytes))
    except OSError as exc:
        yield ctx.quarantine("unreadable", f"file could not be read: {exc.strerror or exc}")


def _head(fh: BinaryIO, max_bytes: int) -> bytes:
    """The first max_bytes of the original (compressed) input, for the quarantine record."""
    try:
        fh.seek(0)
        return fh.read(max_bytes)
    except (OSError, ValueError):
        return b""


def _starts_like_json(stream: BinaryIO) -> bool:
    head = stream.read(64)
    stream.seek(0)  # GzipFile and files both seek back to 0 cheaply
    return head.lstrip(b" \t\r\n\xef\xbb\xbf")[:1] in (b"{", b"[")


def _read_capped(stream: BinaryIO, max_bytes: int) -> tuple[bytes, bool]:
    """Up to max_bytes, and whether there was more (never reads more than max_bytes + 1)."""
    data = stream.read(max_bytes + 1)
    if len(data) > max_bytes:
        return data[:max_bytes], True
    return data, False


def _too_large(ctx: _Ctx, raw: bytes, what: str = "file", source: str | None = None,
               raw_ext: str | None = None) -> Quarantined:
    if what == "file" and ctx.size is not None and not ctx.gz:
        size = f"file is {_mb(ctx.size)}"
    elif what == "file":
        size = "file decompresses to more than " + _mb(ctx.max_bytes)
    else:
        size = f"{what} is more than {_mb(ctx.max_bytes)}"
    return ctx.quarantine("too_large", f"{size}, over {_limit_text(ctx.max_bytes)}; only the first "
                          f"{_mb(len(raw))} were kept", raw=raw, source=source,
                          raw_ext=raw_ext or (ctx.ext or ".bin"))


def _read_single(stream: BinaryIO, ctx: _Ctx) -> Document | Quarantined:
    data, more = _read_capped(stream, ctx.max_bytes)
    ext = ctx.ext or ".txt"
    if more:
        return _too_large(ctx, data)
    try:
        text, encoding = _decode_checked(data)
    except DecodeError as exc:
        return ctx.quarantine(exc.reason, f"file {exc.detail}", raw=data, raw_ext=exc.raw_ext or ext)
    if ctx.format != "auto":
        fmt, sniffed = ctx.format, False
    elif ext in (".html", ".htm"):
        fmt, sniffed = "html", False
    else:
        fmt = "html" if looks_like_html(text) else "text"
        sniffed = fmt == "html"
    replaced = text.count("\ufffd") - data.count(b"\xef\xbf\xbd") if encoding == "utf-8" else 0
    return Document.from_content(
        text, source=ctx.source, format=fmt, encoding=encoding, raw=data,
        raw_ext=".html" if sniffed or (fmt == "html" and ext == ".txt") else ext,
        reference_date=ctx.reference_date,
        provenance={"read": _provenance(ctx, len(data), sniffed=sniffed, replaced_bytes=replaced)})


def _decode_checked(data: bytes) -> tuple[str, str]:
    """decode() plus the empty/binary checks that come before and after it."""
    if not data:
        raise DecodeError("empty", "is empty (0 bytes)")
    magic = sniff_binary(data)
    if magic:
        raise DecodeError("binary", f"is {magic[0]}, not text", raw_ext=magic[1])
    text, encoding = decode(data)
    if not text.strip().strip("\ufeff\u200b"):
        raise DecodeError("empty", f"holds only white space ({len(data)} bytes)")
    if not _plausible(text):
        n = len(_CONTROL.findall(text))
        raise DecodeError("binary", f"contains {n} control characters: binary data, not text")
    return text, encoding


def _provenance(ctx: _Ctx, nbytes: int, **extra: Any) -> dict[str, Any]:
    out: dict[str, Any] = {"version": READER_VERSION, "bytes": nbytes}
    if ctx.gz:
        out["gzip"] = True
    out.update({k: v for k, v in extra.items() if v})
    return out


# ---------------------------------------------------------------------------------------------
# JSON and JSON lines


def _read_json(stream: BinaryIO, ctx: _Ctx) -> Iterator[Document | Quarantined]:
    first = stream.read(4)
    stream.seek(0)
    enc = _json_wide_encoding(first)
    if enc:  # UTF-16/32 JSON is rare: read it whole (capped), decode, go on line by line in UTF-8
        data, more = _read_capped(stream, ctx.max_bytes)
        if more:
            yield _too_large(ctx, data)
            return
        text = data.decode(enc, errors="replace").lstrip("\ufeff")
        lines = ((n, line.encode("utf-8") + b"\n") for n, line in enumerate(text.split("\n"), 1))
        yield from _json_items(lines, ctx, encoding=enc)
        return
    yield from _json_items(_lines(stream, ctx), ctx, encoding="utf-8")


def _json_wide_encoding(first: bytes) -> str | None:
    """UTF-16/32 from a BOM or the NUL pattern of the first characters ('{' or '[' are ASCII)."""
    for bom, enc in _BOMS:
        if first.startswith(bom) and enc != "utf-8":
            return enc
    if len(first) >= 4 and first[1:4] == b"\x00\x00\x00":
        return "utf-32-le"
    if len(first) >= 4 and first[:3] == b"\x00\x00\x00":
        return "utf-32-be"
    if len(first) >= 2 and first[1] == 0:
        return "utf-16-le"
    if len(first) >= 2 and first[0] == 0:
        return "utf-16-be"
    return None


class _LongLine(bytes):
    """A line cut at max_bytes (the rest of it was skipped, not kept)."""


def _lines(stream: BinaryIO, ctx: _Ctx) -> Iterator[tuple[int, bytes]]:
    """(line number, bytes) one line at a time; a line over max_bytes comes back as _LongLine."""
    n = 0
    while True:
        line = stream.readline(ctx.max_bytes + 1)
        if not line:
            return
        n += 1
        if len(line) > ctx.max_bytes and not line.endswith(b"\n"):
            while True:  # skip the rest of the line without keeping it
                rest = stream.readline(_CHUNK)
                if not rest or rest.endswith(b"\n"):
                    break
            yield n, _LongLine(line[:ctx.max_bytes])
        else:
            yield n, line


def _json_items(lines: Iterator[tuple[int, bytes]], ctx: _Ctx, encoding: str) -> Iterator[Document | Quarantined]:
    """JSON lines; or, when the first line is '[' or an unfinished '{', one array / one object."""
    blank_bytes = 0
    in_lines_mode = False
    for lineno, line in lines:
        if isinstance(line, _LongLine):
            in_lines_mode = True
            yield _too_large(ctx, bytes(line), what=f"line {lineno}", source=f"{ctx.source}#L{lineno}",
                             raw_ext=".json")
            continue
        stripped = line.strip()
        if lineno == 1:
            stripped = stripped.removeprefix(codecs.BOM_UTF8).strip()
        if not stripped:
            blank_bytes += len(line)
            continue
        if not in_lines_mode and ctx.ext != ".jsonl" and not isinstance(_loads(stripped), dict):
            yield from _json_document(line, lines, lineno, ctx, encoding)
            return
        in_lines_mode = True
        yield _json_line(stripped, lineno, ctx, encoding)
    if not in_lines_mode:
        yield ctx.quarantine("empty", f"file holds only white space ({blank_bytes} bytes)" if blank_bytes
                             else "file is empty (0 bytes)", raw_ext=".json")


def _loads(data: bytes) -> Any:
    """The parsed value, or a sentinel that is no JSON type when it does not parse."""
    try:
        return json.loads(data)
    except ValueError:
        return _loads


def _parses(data: bytes) -> bool:
    return _loads(data) is not _loads


def _json_document(first: bytes, rest: Iterator[tuple[int, bytes]], first_lineno: int, ctx: _Ctx,
                   encoding: str) -> Iterator[Document | Quarantined]:
    buf = bytearray(first)
    line_spans: list[tuple[int, bytes]] = [(first_lineno, first)]
    for lineno, line in rest:
        if isinstance(line, _LongLine) or len(buf) + len(line) > ctx.max_bytes:
            buf.extend(line[: max(0, ctx.max_bytes - len(buf))])
            yield _too_large(ctx, bytes(buf), what="JSON document (not JSON lines)", raw_ext=".json")
            return
        buf.extend(line)
        line_spans.append((lineno, line))
    data = bytes(buf)
    try:
        value = json.loads(data)
    except ValueError as exc:
        parsed_lines = [(n, ln.strip()) for n, ln in line_spans if ln.strip() and _parses(ln.strip())]
        if len(parsed_lines) >= 1 and any(ln.startswith(b"{") for _, ln in parsed_lines):
            # JSON lines whose first line is broken: per-line records
            for n, ln in line_spans:
                if ln.strip():
                    yield _json_line(ln.strip(), n, ctx, encoding)
            return
        yield ctx.quarantine("invalid_json", f"file is not valid JSON: {exc}", raw=data, raw_ext=".json")
        return
    if isinstance(value, dict):
        yield _json_object(value, data, ctx.source, ctx, encoding)
    elif isinstance(value, list):
        if not value:
            yield ctx.quarantine("no_text", "file is an empty JSON array: no documents", raw=data, raw_ext=".json")
        for i, item in enumerate(value):
            src = f"{ctx.source}#{i}"
            raw = json.dumps(item, ensure_ascii=False).encode("utf-8")
            if isinstance(item, dict):
                yield _json_object(item, raw, src, ctx, encoding)
            else:
                yield ctx.quarantine("invalid_json", f"item {i} of the array is {_json_type(item)}, not an object",
                                     raw=raw, raw_ext=".json", source=src)
    else:
        yield ctx.quarantine("invalid_json", f"file holds {_json_type(value)}, not an object or a list of objects",
                             raw=data, raw_ext=".json")


def _json_type(value: Any) -> str:
    return {dict: "an object", list: "a list", str: "a string", bool: "a boolean", type(None): "null",
            int: "a number", float: "a number"}.get(type(value), type(value).__name__)


def _json_line(line: bytes, lineno: int, ctx: _Ctx, encoding: str) -> Document | Quarantined:
    src = f"{ctx.source}#L{lineno}"
    try:
        text = line.decode("utf-8")  # wide encodings were re-encoded to UTF-8 by _read_json
    except UnicodeDecodeError:
        try:
            text, encoding = decode(line)
        except DecodeError as exc:
            return ctx.quarantine(exc.reason, f"line {lineno} {exc.detail}", raw=line, raw_ext=".json", source=src)
    try:
        value = json.loads(text)
    except ValueError as exc:
        return ctx.quarantine("invalid_json", f"line {lineno} is not valid JSON: {exc}", raw=line,
                              raw_ext=".json", source=src)
    if not isinstance(value, dict):
        return ctx.quarantine("invalid_json", f"line {lineno} is {_json_type(value)}, not an object", raw=line,
                              raw_ext=".json", source=src)
    return _json_object(value, line, src, ctx, encoding, lineno=lineno)


def _json_object(obj: dict, raw: bytes, source: str, ctx: _Ctx, encoding: str,
                 lineno: int | None = None) -> Document | Quarantined:
    where = f"line {lineno}" if lineno is not None else ("item " + source.rsplit("#", 1)[1] if "#" in source
                                                         else "the object")
    html, text = _str_field(obj, "html"), _str_field(obj, "text")
    if ctx.format == "text":
        content, fmt = (text if text.strip() else html), "text"
    elif ctx.format == "html":
        content, fmt = (html if html.strip() else text), "html"
    elif html.strip():
        content, fmt = html, "html"
    else:
        content, fmt = text, "text"
    if not content.strip():
        keys = ", ".join(sorted(map(str, obj))[:12]) or "none"
        has = [k for k in ("text", "html") if k in obj]
        why = (f"has an empty {' and '.join(repr(k) for k in has)}" if has else
               f"has no 'text' or 'html' field (keys: {keys})")
        return ctx.quarantine("no_text", f"{where} {why}", raw=raw, raw_ext=".json", source=source)
    notes: dict[str, Any] = {}
    published = _iso_datetime(obj.get("published"))
    if obj.get("published") not in (None, "") and published is None:
        notes["unparsed_published"] = str(obj.get("published"))[:200]
    ref = ctx.reference_date
    if obj.get("reference_date"):
        ref = _iso_date(obj.get("reference_date")) or ref
        if _iso_date(obj.get("reference_date")) is None:
            notes["unparsed_reference_date"] = str(obj.get("reference_date"))[:200]
    prov = _provenance(ctx, len(raw), line=lineno, **notes)
    return Document.from_content(
        content, source=source, format=fmt, encoding=encoding, raw=raw, raw_ext=".json",
        url=_str_field(obj, "url").strip() or None, title=_str_field(obj, "title").strip() or None,
        site_name=_str_field(obj, "source").strip() or None,
        published=published, published_source="input" if published else None,
        reference_date=ref, provenance={"read": prov})


def _str_field(obj: dict, key: str) -> str:
    value = obj.get(key)
    return value if isinstance(value, str) else ""


def _iso_datetime(value: Any) -> str | None:
    """ISO 8601 from an ISO string, an RFC 2822 date or a Unix timestamp; None if none fits."""
    if value is None or isinstance(value, bool):
        return None
    if isinstance(value, (int, float)):
        ts = value / 1000 if value > 1e11 else value  # milliseconds
        try:
            return datetime.fromtimestamp(ts, tz=timezone.utc).isoformat()
        except (OverflowError, OSError, ValueError):
            return None
    if not isinstance(value, str) or not value.strip():
        return None
    s = unicodedata.normalize("NFKC", value.strip())
    try:
        dt = datetime.fromisoformat(s.replace("Z", "+00:00") if s.endswith("Z") else s)
    except ValueError:
        try:
            dt = parsedate_to_datetime(s)
        except (TypeError, ValueError, IndexError):
            return None
    if len(s) == 10 and s[4] == "-":  # a bare date stays a date
        return dt.date().isoformat()
    return dt.isoformat()


def _iso_date(value: Any) -> str | None:
    if isinstance(value, (date, datetime)):
        return value.isoformat()[:10]
    iso = _iso_datetime(value) if isinstance(value, str) else None
    return iso[:10] if iso else None
