"""HTML extraction: trafilatura (one parse, body + metadata) then the
Arabic-aware line post-filter of :mod:`tasks.clean_text`.

Settings (measured in ``bench/bench_clean.py``): comments off (reader comments
are not the article), tables on, fallbacks on (trafilatura's readability/
jusText comparison), neither precision nor recall favoured: our post-filter
removes what trafilatura lets through (share bars, datelines, "read also"
lines and related lists in Arabic, English and French).
"""
from __future__ import annotations

import re
from dataclasses import dataclass, field
from urllib.parse import urlparse

from lxml.etree import XPath

EXTRACT_OPTIONS = dict(
    include_comments=False,
    include_tables=True,
    include_images=False,
    include_links=False,
    favor_precision=True,
    favor_recall=False,
    fast=False,
    with_metadata=True,  # metadata from the same parsed tree (see _light_metadata)
    # htmldate's extensive search falls back to dateparser over free text:
    # seconds per page on some pages. Meta tags, JSON-LD, <time> and URL
    # patterns are still used; datelines in the text are parsed by us.
    date_extraction_params={"extensive_search": False, "original_date": True},
)

# "article:published_time" content="2024-06-19T08:30", "datePublished": "2024-06-19 08:30", ...
# Looked up with str.find in the page's meta tags and JSON-LD (see _date_fields):
# one case-insensitive regex over 100 KB of markup cost ~4 ms a page.
_PUBLISHED_KEYS = ("article:published_time", "datepublished", "pubdate", "publishdate", "publish-date",
                   "publish_date", "dc.date.issued")
_PUBLISHED_VALUE = re.compile(  # matched on the lowered text
    r"""["']?\s*(?:content\s*=|:|=)\s*["']\s*(\d{4}-\d{2}-\d{2})[t ](\d{2}:\d{2})""")


_XP_META = XPath("//meta[@content]")
_XP_JSONLD = XPath('//script[@type="application/ld+json"]')
_XP_ITEMPROP = XPath('//*[@itemprop="datePublished"]')


def _date_fields(tree) -> str:
    """The parts of a page that state its publication time: meta tags (as
    ``name="content"``), JSON-LD blocks and itemprop=datePublished elements."""
    parts = [f'{el.get("property") or el.get("name") or el.get("itemprop") or ""}="{el.get("content", "")}"'
             for el in _XP_META(tree)]
    parts += [el.text or "" for el in _XP_JSONLD(tree)]
    parts += [f'datePublished="{el.get("content") or el.get("datetime") or ""}"' for el in _XP_ITEMPROP(tree)]
    return "\n".join(parts)


def published_time(html: str, limit: int = 200_000) -> tuple[str, str] | None:
    """(date, HH:MM) of the first published-time meta or JSON-LD value in the page."""
    low = html[:limit].lower()
    best = None
    for key in _PUBLISHED_KEYS:
        i = low.find(key)
        while i >= 0 and (best is None or i < best[0]):
            m = _PUBLISHED_VALUE.match(low, i + len(key))
            if m:
                best = (i, m.group(1), m.group(2))
                break
            i = low.find(key, i + 1)
    return (best[1], best[2]) if best else None


@dataclass
class HtmlResult:
    text: str = ""
    title: str | None = None
    published: str | None = None
    author: str | None = None
    site_name: str | None = None
    url: str | None = None
    hostname: str | None = None
    language: str | None = None
    ok: bool = True
    extra: dict = field(default_factory=dict)
    tree: object = field(default=None, repr=False)  # the parsed page (trafilatura worked on a copy)


def _light_metadata(tree, url: str | None, date_params: dict) -> dict:
    """Page metadata from the already parsed tree, using trafilatura's own
    helpers minus the costly extras of ``extract_metadata`` (categories, tags,
    licence, author heuristics over the whole page): meta tags / JSON-LD,
    title, canonical URL, and htmldate on the tree."""
    from htmldate import find_date
    from trafilatura import metadata as M

    meta = M.examine_meta(tree)
    try:
        meta = M.extract_meta_json(tree, meta)  # JSON-LD (headline, author, publisher, dates)
    except Exception:  # noqa: BLE001 - broken JSON-LD is common
        pass
    title = meta.title or M.extract_title(tree)
    page_url = url or meta.url or M.extract_url(tree)
    sitename = meta.sitename
    if not sitename:
        try:
            sitename = M.extract_sitename(tree)
        except Exception:  # noqa: BLE001
            sitename = None
    # a published time stated in meta tags / JSON-LD is the answer (htmldate costs
    # ~0.3 ms a page more and would only be upgraded to it afterwards)
    hit = published_time(_date_fields(tree))
    if hit:
        date = f"{hit[0]}T{hit[1]}"
    else:
        try:
            date = find_date(tree, url=page_url, **date_params)
        except Exception:  # noqa: BLE001
            date = None
    if title and sitename:  # "Headline | Site" -> "Headline"
        for sep in (" | ", " - ", " – ", " — ", " :: ", " · "):
            head, _, tail = title.rpartition(sep)
            if head and tail.strip().lower() == sitename.strip().lower():
                title = head.strip()
                break
    return {"title": title, "author": meta.author, "url": page_url, "sitename": sitename, "date": date,
            "hostname": urlparse(page_url).hostname if page_url else None}


def extract_html(html: str, url: str | None = None) -> HtmlResult:
    """Body text (one paragraph per line) and page metadata, from one parse."""
    import trafilatura  # lazy: ~0.3 s import
    from trafilatura.utils import load_html

    res = HtmlResult()
    opts = dict(EXTRACT_OPTIONS)
    date_params = opts.pop("date_extraction_params")
    opts["with_metadata"] = False
    try:
        tree = load_html(html)
        if tree is None:
            res.ok = False
            return res
        meta = _light_metadata(tree, url, date_params)
        doc = trafilatura.bare_extraction(tree, url=url, **opts)  # the tree is not modified (copied inside)
    except Exception as exc:  # noqa: BLE001 - malformed markup must not kill the batch
        res.ok = False
        res.extra["error"] = f"{type(exc).__name__}: {exc}"[:300]
        return res
    res.tree = tree
    res.text = (doc.text if doc is not None else "") or ""
    res.title = meta["title"] or None
    res.published = meta["date"] or None
    res.author = meta["author"] or None
    res.site_name = meta["sitename"] or None
    res.url = meta["url"] or url
    res.hostname = meta["hostname"]
    return res

_BLOCK_TAGS = frozenset("""address article aside blockquote body br dd details dialog div dl dt fieldset figcaption
figure footer form h1 h2 h3 h4 h5 h6 header hr li main nav ol p pre section summary table td th tr ul
title button option label""".split())
_SKIP_TAGS = frozenset("script style noscript template svg iframe head".split())


def html_to_text(html: str, tree=None) -> str:
    """Flatten a page to one block per line (what a text dump of it looks like).
    ``tree``: the page already parsed (``HtmlResult.tree``), to skip a second parse."""
    import lxml.html

    if tree is not None:
        root = tree
    else:
        try:
            root = lxml.html.fromstring(html.encode("utf-8") if isinstance(html, str) else html)
        except Exception:  # noqa: BLE001 - unparsable: strip tags crudely
            return re.sub(r"<[^>]+>", "\n", html)
    parts: list[str] = []

    def walk(el, pre: bool = False) -> None:
        # a newline in the page source is a space (hard-wrapped paragraphs stay one
        # block), except inside <pre>; block elements and <br> break lines
        tag = el.tag if isinstance(el.tag, str) else ""
        if tag in _SKIP_TAGS:
            if el.tail:
                parts.append(el.tail if pre else el.tail.replace("\n", " "))
            return
        block = tag in _BLOCK_TAGS
        inner = pre or tag == "pre"
        if block:
            parts.append("\n")
        if el.text and tag:
            parts.append(el.text if inner else el.text.replace("\n", " "))
        for child in el:
            walk(child, inner)
        if block:
            parts.append("\n")
        if el.tail:
            parts.append(el.tail if pre else el.tail.replace("\n", " "))

    walk(root)
    lines = (re.sub(r"[ \t\r\f\v\xa0]+", " ", ln).strip() for ln in "".join(parts).split("\n"))
    return "\n".join(ln for ln in lines if ln)
