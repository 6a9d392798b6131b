"""Line classifier for plain-text dumps of news pages (and the post-filter for
the text trafilatura extracts from HTML).

Each non-empty line gets features (folded key, tokens, length, stopword
density in the document's language, script) and goes through two stages:

1. *Hard* labels that context cannot override: widget cue phrases (data files
   in ``tasks/data/cues``), datelines and bylines (their date, publisher and
   author are kept), symbol-only lines, short lines in another script,
   short lines repeated inside the document, lines recurring across documents of
   the same source (``cross_doc`` keys computed by the batch), "related"/"read
   also" lists and a trailing comments section.
2. *Soft* jusText-style classification of the rest (Pomikálek 2011): long lines
   dense in stopwords are good, short ones are decided by their neighbours
   (a short subheading between two good paragraphs stays; a short menu item
   between boilerplate goes), then the main block of good lines is kept and far
   away islands (footers, promos) are dropped.

The title is the headline-like line just before the article body; lines before
it are page head (menus, breadcrumbs).
"""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field

from tasks.clean_cues import SECTION_REASONS, TAIL_REASONS, guess_stoplist, load_cues
from tasks.clean_meta import parse_byline, parse_dateline
from tasks.normalize import clean_invisible, line_key

# jusText defaults (characters / stopword density)
LENGTH_LOW = 70
LENGTH_HIGH = 200
STOP_LOW = 0.30
STOP_HIGH = 0.32
CUE_COVERAGE = 0.5
CUE_MAX_TOKENS = 12
REPEAT_SHORT_TOKENS = 15  # repeated lines up to this size lose every copy; longer ones are content and stay
ISLAND_GAP = 6  # non-good lines separating two blocks of good lines
ISLAND_SHARE = 0.3  # a block smaller than this share of the main block is dropped when far away
TEASER_MIN_ITEMS = 3  # a trailing list of this many headline-like items under a short header ...
TEASER_MAX_WORDS = 16  # ... each at most this long, is a teaser list
SHORT_RUN = 5  # this many short lines in a row (cut lines aside) are a list of links, whatever surrounds them
SHORT_RUN_SENTENCES = 0.8  # ... unless this share of them are sentences

_WORD = re.compile(r"\w+", re.U)
_END_PUNCT = (".", "!", "?", "؟", "!", "…", "。", '."', ".”", ".»", "»", ":", "؛", ";")
_HARD = "hard"


@dataclass
class Line:
    no: int  # 1-based line number in the input
    raw: str
    text: str
    tokens: list[str]  # folded key tokens
    words: list[str]  # lower-cased surface words
    key: str
    script: str  # "arabic" | "latin" | "other" | "none"
    cls: str = ""  # good | neargood | short | bad | hard
    reason: str = ""

    @property
    def n(self) -> int:
        return len(self.text)

    def unspaced(self) -> tuple[bool, int]:
        """(written mostly without spaces, effective length for the thresholds)."""
        if self.script != "other":
            return False, self.n
        sample = self.text[:SCRIPT_SAMPLE]
        uns = sum(map(len, _UNSPACED.findall(sample)))
        letters = sum(map(len, _LETTERS.findall(sample)))
        if not letters or uns < 0.5 * letters:
            return False, self.n
        cjk = sum(map(len, _CJK.findall(self.text)))
        return True, self.n + (CJK_WEIGHT - 1) * cjk


@dataclass
class TextResult:
    body: list[Line] = field(default_factory=list)
    removed: list[Line] = field(default_factory=list)
    title: str | None = None
    title_line: int | None = None
    published: str | None = None
    publisher: str | None = None
    author: str | None = None


# runs, not single characters: findall then builds one string per word, not per letter
_AR_CHARS = re.compile("[\u0600-\u06ff\u0750-\u077f\ufb50-\ufdff\ufe70-\ufeff]+")
_LATIN_CHARS = re.compile("[A-Za-z\u00c0-\u024f\u1e00-\u1eff]+")
_LETTERS = re.compile(r"[^\W\d_]+", re.U)
SCRIPT_SAMPLE = 400  # characters: a paragraph's script is clear from its start
# Scripts written without spaces between words (Chinese, Japanese kana, Thai,
# Lao, Myanmar, Khmer): no stopword list applies, and a CJK character carries
# about as much as a short Latin word.
_UNSPACED = re.compile("[\u0e00-\u0eff\u1000-\u109f\u1780-\u17ff\u3040-\u30ff\u3400-\u4dbf"
                       "\u4e00-\u9fff\uf900-\ufaff]+")
_CJK = re.compile("[\u3040-\u30ff\u3400-\u4dbf\u4e00-\u9fff\uf900-\ufaff]+")
CJK_WEIGHT = 3  # a CJK character counts as this many characters for the length thresholds
# a sentence end: 。！？ anywhere, or . ! ? ။ । at the end of the line (before closing quotes)
_SENTENCE_MARKS = re.compile("[\u3002\uff01\uff1f]|[.!?\u104b\u0964][\"'\u201d\u300d\u300f)\uff09\\]]*$")


def _repeats_are_boilerplate(ln: Line) -> bool:
    """A short line that recurs in a document (a menu item, a caption, a share label) loses every copy. A
    longer one is a paragraph: its copies stay, as trafilatura keeps them by default (no ``deduplicate``).
    Cutting the later copies of long lines gained nothing on our labelled pages, lost part of an outside
    page's expected text, and lost the entities of the paragraphs ANERcorp repeats."""
    return len(ln.tokens) <= REPEAT_SHORT_TOKENS


def script_of(text: str) -> str:
    text = text[:SCRIPT_SAMPLE]
    letters = sum(map(len, _LETTERS.findall(text)))
    if not letters:
        return "none"
    ar = sum(map(len, _AR_CHARS.findall(text)))
    la = sum(map(len, _LATIN_CHARS.findall(text)))
    other = max(0, letters - ar - la)
    if ar >= la and ar >= other:
        return "arabic"
    return "latin" if la >= other else "other"


def make_lines(lines: list[str], start: int = 1) -> list[Line]:
    out = []
    for i, raw in enumerate(lines):
        text = clean_invisible(raw).strip()
        if not text:
            continue
        key = line_key(text)
        out.append(Line(no=i + start, raw=raw, text=text, tokens=key.split(), key=key,
                        words=[w.lower() for w in _WORD.findall(text)], script=script_of(text)))
    return out


def _headline_like(ln: Line) -> bool:
    return 2 <= len(ln.words) <= 30 and ln.n <= 250 and not ln.text.endswith(_END_PUNCT[:7])


_CLITICS = "وفبلك"
_GLUED = re.compile(r"(?<=[a-z\u00e0-\u00ff])(?=[A-Z\u00c0-\u00de])")


def _teaser_item(ln: Line) -> bool:
    """A list item that reads like a headline: short, not a sentence ending in a full stop."""
    return (ln.text.startswith(("- ", "• ")) and 2 <= len(ln.words) <= TEASER_MAX_WORDS
            and not ln.text.rstrip("\"'”») ").endswith((".", "…", "。", ":", ";", "؛")))


def _is_stop(w: str, stop: frozenset[str]) -> bool:
    if w in stop:
        return True
    # Arabic proclitics glue to function words: وقال, فإن, بأن, لأن, كما
    return len(w) > 3 and w[0] in _CLITICS and w[1:] in stop


def _sentence_like(ln: Line, min_words: int = 8) -> bool:
    return len(ln.words) >= min_words and ln.text.rstrip("\"'”»)] ").endswith((".", "!", "?", "؟", "…", "。"))


def _nearest(classes: list[str], accept: tuple[str, ...]) -> tuple[list[str], list[str]]:
    """For each line, the class of the nearest line before / after it whose
    class is in ``accept`` ("bad" past either end); other lines (short, hard)
    are transparent. Linear: menus are long runs of short lines."""
    n = len(classes)
    prev, nxt = ["bad"] * n, ["bad"] * n
    last = "bad"
    for i, c in enumerate(classes):
        prev[i] = last
        if c in accept:
            last = c
    last = "bad"
    for i in range(n - 1, -1, -1):
        nxt[i] = last
        if classes[i] in accept:
            last = classes[i]
    return prev, nxt


def _hard(ln: Line, reason: str) -> None:
    ln.cls, ln.reason = _HARD, reason


class LineClassifier:
    """Classify the lines of one document. ``mode`` is "text" (full jusText-like
    classification of a page dump) or "post" (the lines trafilatura kept from
    HTML: only hard labels, sections and title removal)."""

    def __init__(self, mode: str = "text", cross_doc: frozenset[str] | set[str] = frozenset()):
        self.mode = mode
        self.cross_doc = cross_doc
        self.cues = load_cues()

    # -- stage 1: hard labels -------------------------------------------------
    def hard_labels(self, lines: list[Line], res: TextResult) -> None:
        counts: dict[str, int] = {}
        for ln in lines:
            counts[ln.key] = counts.get(ln.key, 0) + 1
        scripts: dict[str, int] = {}
        for ln in lines:
            scripts[ln.script] = scripts.get(ln.script, 0) + ln.n
        main_script = max(sorted(scripts), key=lambda s: scripts[s]) if scripts else "none"
        for ln in lines:
            if not any(ch.isalpha() for ch in ln.text) or (len(ln.words) <= 1 and ln.n <= 2):
                _hard(ln, "symbols")
                continue
            orig = unicodedata.normalize("NFKC", ln.raw).strip()  # keeps tatweel used as a dash
            author = parse_byline(orig)
            if author:
                res.author = res.author or author
                _hard(ln, "byline")
                d = parse_dateline(orig)
                if d and not res.published:
                    res.published = d.date
                continue
            d = parse_dateline(orig)
            if d:
                if not res.published or (res.published and d.date and not d.updated and res.published > d.date):
                    res.published = d.date
                if d.publisher and not res.publisher:
                    res.publisher = d.publisher
                _hard(ln, "dateline")
                continue
            reason, cov = self.cues.match(ln.tokens, ln.text)
            if (not reason or cov < CUE_COVERAGE) and _GLUED.search(ln.text):
                # inline links flattened without spaces: "Share on FacebookShare on Twitter"
                unglued = _GLUED.sub(" ", ln.text)
                reason, cov = self.cues.match(line_key(unglued).split(), unglued)
            if reason and cov >= CUE_COVERAGE and (len(ln.tokens) <= CUE_MAX_TOKENS or cov == 1.0):
                _hard(ln, f"cue:{reason}")
                continue
            if counts.get(ln.key, 0) > 1 and ln.key and _repeats_are_boilerplate(ln):
                _hard(ln, "repeated")
                continue
            if ln.key in self.cross_doc:
                _hard(ln, "cross_doc_repeat")
                continue
            if (main_script in ("arabic", "latin") and ln.script not in (main_script, "none")
                    and len(ln.words) <= 3 and ln.script != "other"):
                _hard(ln, "foreign_short")
                continue

    # -- sections: related lists, read-also, comments ------------------------
    def sections(self, lines: list[Line], body_start: int) -> None:
        in_related = False
        for i, ln in enumerate(lines):
            if ln.cls == _HARD and ln.reason.startswith("cue:"):
                r = ln.reason[4:]
                if r in TAIL_REASONS and i > body_start and self._after_body(lines, i):
                    for rest in lines[i + 1:]:
                        if rest.cls != _HARD:
                            _hard(rest, "comments_section")
                    return
                in_related = r in SECTION_REASONS and len(ln.tokens) <= 5
                continue
            if in_related:
                if ln.cls == _HARD:
                    continue
                if _headline_like(ln) or (self.mode == "text" and ln.cls in ("short", "bad")):
                    _hard(ln, "related_list")
                    continue
                in_related = False

    @staticmethod
    def trailing_list(lines: list[Line]) -> None:
        """Post mode: a short header followed by a list of headline-like items
        (trafilatura renders them "- item") that runs to the end of the
        extraction is a teaser list ("More must-reads from ..."), not the article."""
        live = [ln for ln in lines if ln.cls != _HARD]
        k = len(live)
        while k > 0 and _teaser_item(live[k - 1]):
            k -= 1
        items = live[k:]
        if len(items) < TEASER_MIN_ITEMS or k < 2:  # a list with nothing before it may be the article
            return
        head = live[k - 1]
        # "Key points:" introduces the article's own list; a teaser header has no colon
        if not head.text.startswith(("- ", "• ")) and _headline_like(head) and len(head.words) <= 8 \
                and not head.text.rstrip().endswith((":", "：")):
            for ln in [head, *items]:
                _hard(ln, "related_list")

    @staticmethod
    def _after_body(lines: list[Line], i: int) -> bool:
        """A comments header counts only once most of the body is above it."""
        before = sum(ln.n for ln in lines[:i] if ln.cls in ("good", "neargood", "short", ""))
        after = sum(ln.n for ln in lines[i + 1:] if ln.cls in ("good", "neargood", ""))
        return before > 0 and (before >= 200 or before >= after)

    # -- stage 2: jusText-like soft classification ----------------------------
    def soft_labels(self, lines: list[Line]) -> None:
        words = [w for ln in lines for w in ln.words]
        stop = guess_stoplist(words)
        for ln in lines:
            if ln.cls == _HARD:
                continue
            unspaced, n_eff = ln.unspaced()
            if unspaced:
                # no stopwords to count: length and sentence punctuation decide
                if n_eff < LENGTH_LOW:
                    ln.cls = "short"
                elif n_eff > LENGTH_HIGH:
                    ln.cls = "good"
                else:
                    ln.cls = "neargood" if _SENTENCE_MARKS.search(ln.text) else "bad"
                continue
            nw = len(ln.words) or 1
            density = sum(_is_stop(w, stop) for w in ln.words) / nw
            if ln.n < LENGTH_LOW:
                ln.cls = "short"
            elif density >= STOP_HIGH:
                ln.cls = "good" if ln.n > LENGTH_HIGH else "neargood"
            elif density >= STOP_LOW or _sentence_like(ln):
                # a real sentence poor in stopwords (names, figures) is decided by context
                ln.cls = "neargood"
            else:
                ln.cls = "bad"
        # context: short lines take the class of their non-short neighbours,
        # except in long runs of short lines (menus, teaser lists, footers)
        classes = [ln.cls for ln in lines]
        in_run = self._short_runs(classes, lines)
        new = list(classes)
        p_strict, n_strict = _nearest(classes, ("good", "bad"))
        p_near, n_near = _nearest(classes, ("good", "bad", "neargood"))
        # lines before this one are only cut or short: the text's opening line(s)
        opening = next((i for i, c in enumerate(classes) if c in ("good", "bad", "neargood")), len(classes))
        for i, c in enumerate(classes):
            if c != "short":
                continue
            p, n = p_strict[i], n_strict[i]
            if i in in_run:
                new[i] = "bad"
            elif p == n == "good":
                new[i] = "good"
            elif i < opening and _sentence_like(lines[i]) \
                    and next((c2 for c2 in classes[i + 1:] if c2 != _HARD), None) in ("good", "neargood"):
                # a short sentence that opens the text, right before its paragraphs, is its lede, not a menu
                # item (jusText counts the start of the text as a boilerplate neighbour); a short line
                # between them (a headline after a ticker line) leaves it to the rules below
                new[i] = "good"
            elif p == n == "bad":
                new[i] = "bad"
            elif (p == "bad" and p_near[i] == "neargood") or (n == "bad" and n_near[i] == "neargood"):
                new[i] = "good"
            else:
                new[i] = "bad"
        classes = new
        new = list(classes)
        p_near, n_near = _nearest(classes, ("good", "bad", "neargood"))
        for i, c in enumerate(classes):
            if c != "neargood":
                continue
            # unlike jusText, a neighbouring near-good line supports it too: short
            # articles are often made only of medium-length paragraphs
            new[i] = "bad" if p_near[i] == n_near[i] == "bad" else "good"
        for i, (ln, c) in enumerate(zip(lines, new)):
            if ln.cls != _HARD:
                ln.reason = "" if c == "good" else (
                    "short_run" if i in in_run else "short" if ln.cls == "short" else "low_content")
                ln.cls = c

    @staticmethod
    def _short_runs(classes: list[str], lines: list[Line]) -> set[int]:
        """Indices of short lines in runs of at least SHORT_RUN (hard lines are
        transparent). A run made of short sentences (SHORT_RUN_SENTENCES of its
        lines end in . ! ? ؟ … or 。 after 3+ words: a results
        table, a list of short facts) is not a menu: its lines are judged by
        their neighbours like any short line."""
        out: set[int] = set()
        run: list[int] = []
        for i, c in enumerate(classes + ["bad"]):
            if c == _HARD:
                continue
            if c == "short":
                run.append(i)
                continue
            if len(run) >= SHORT_RUN and sum(_sentence_like(lines[j], 3) for j in run) < SHORT_RUN_SENTENCES * len(run):
                out.update(run)
            run = []
        return out

    @staticmethod
    def keep_short_document(lines: list[Line]) -> None:
        """A document the soft stages would empty is a short one (a news brief
        of a sentence or two, one JSONL line), not all boilerplate: the soft
        evidence is relative to a body it does not have. Its lines cut only for
        being short or low in content come back; hard cuts (cues, datelines)
        and runs of short lines (menus) stay cut."""
        if any(ln.cls == "good" for ln in lines):
            return
        for ln in lines:
            if ln.cls != _HARD and ln.reason in ("short", "low_content"):
                ln.cls, ln.reason = "good", ""

    def islands(self, lines: list[Line]) -> None:
        """Keep the main block of good lines; drop small far-away blocks."""
        blocks: list[list[Line]] = []
        gap = ISLAND_GAP + 1
        for ln in lines:
            if ln.cls == "good":
                if gap > ISLAND_GAP or not blocks:
                    blocks.append([])
                blocks[-1].append(ln)
                gap = 0
            else:
                gap += 1
        if len(blocks) < 2:
            return
        size = [sum(x.n for x in b) for b in blocks]
        top = max(size)
        for b, s in zip(blocks, size):
            if s < ISLAND_SHARE * top:
                for ln in b:
                    ln.cls, ln.reason = "bad", "island"

    # -- title --------------------------------------------------------------
    def find_title(self, lines: list[Line]) -> int | None:
        """Index of the title line: the headline-like line before the body."""
        first = next((i for i, ln in enumerate(lines) if ln.cls == "good"), None)
        if first is None:
            return None
        ln = lines[first]
        if _headline_like(ln) and len(ln.words) >= 3 and first + 1 < len(lines) and self.mode == "text" \
                and not any(x.cls == "good" and _headline_like(x) is False for x in lines[max(0, first - 1):first]):
            # a long headline can itself look like a paragraph
            if any(x.cls == "good" for x in lines[first + 1:first + 4]) and ln.n < 200:
                return first
        looked = 0
        for j in range(first - 1, -1, -1):
            c = lines[j]
            if c.cls == _HARD and c.reason in ("dateline", "byline", "symbols", "foreign_short", "repeated") \
                    or c.reason.startswith("cue:share") or c.reason.startswith("cue:follow"):
                continue
            looked += 1
            if looked > 8:
                break
            if c.cls != _HARD and _headline_like(c) and len(c.words) >= 3:
                return j
        return None

    # -- driver -------------------------------------------------------------
    def run(self, raw_lines: list[str], start: int = 1, title_hint: str | None = None) -> TextResult:
        res = TextResult()
        lines = make_lines(raw_lines, start)
        self.hard_labels(lines, res)
        if self.mode == "text":
            self.soft_labels(lines)
            first = next((i for i, ln in enumerate(lines) if ln.cls == "good"), 0)
            self.sections(lines, first)
            self.islands(lines)
            self.keep_short_document(lines)
            t = self.find_title(lines)
            if t is not None:
                res.title, res.title_line = lines[t].text, lines[t].no
                for ln in lines[:t]:
                    if ln.cls != _HARD:
                        ln.cls, ln.reason = "bad", "before_title"
                lines[t].cls, lines[t].reason = _HARD, "title"
        else:
            for ln in lines:
                if ln.cls != _HARD:
                    ln.cls = "good"
            self.sections(lines, 0)
            self.trailing_list(lines)
            if title_hint and lines:
                tk = line_key(title_hint)
                for ln in lines[:2]:
                    if ln.cls == "good" and ln.key == tk:
                        _hard(ln, "title")
        for ln in lines:
            (res.body if ln.cls == "good" else res.removed).append(ln)
        return res


def classify_text(text: str, *, cross_doc: frozenset[str] | set[str] = frozenset()) -> TextResult:
    """Clean a plain-text page dump (one block per line)."""
    return LineClassifier("text", cross_doc).run(text.split("\n"))


def postfilter(text: str, *, title: str | None = None,
               cross_doc: frozenset[str] | set[str] = frozenset()) -> TextResult:
    """Filter the lines trafilatura extracted from HTML."""
    return LineClassifier("post", cross_doc).run(text.split("\n"), title_hint=title)


def candidate_keys(text: str) -> set[str]:
    """Distinct line keys of a document, for cross-document repetition counts."""
    keys = set()
    for raw in text.split("\n"):
        s = unicodedata.normalize("NFKC", raw).strip()
        if s:
            k = line_key(s)
            if k:
                keys.add(k)
    return keys
