"""The clean step: boilerplate removal for HTML pages and plain-text dumps.

- ``doc.format == "html"``: trafilatura extracts body and metadata in one
  parse (:mod:`tasks.clean_html`), then the line post-filter drops what it let
  through (cue lines, datelines/bylines, related lists, lines recurring across
  the batch).
- ``doc.format == "text"``: the line classifier (:mod:`tasks.clean_text`).

``process_batch`` groups documents by source (site name, URL host, or the
folder/file they came from) and treats a line found in many documents of one
group as template boilerplate (``cross_doc_repeat``). Every cut line is kept in
``doc.removed`` with its reason.
"""
from __future__ import annotations

import math
import os
from urllib.parse import urlparse

from newsflow.document import Document, Removed
from newsflow.pipeline import Step
from tasks.clean_text import TextResult, candidate_keys, classify_text, postfilter

CROSS_DOC_MIN_DOCS = 3  # a line must recur in at least this many documents of a group ...
CROSS_DOC_SHARE = 0.10  # ... and in at least this share of the group's documents
CROSS_DOC_MAX_TOKENS = 40  # long paragraphs shared by documents are syndication, not template


def _layout_table(text: str) -> bool:
    """trafilatura rendered the page as table rows (a layout table): most of
    the text sits in "| cell | cell |" lines with whole paragraphs glued."""
    rows = sum(len(ln) for ln in text.split("\n") if ln.lstrip().startswith("|"))
    return rows > 0.5 * len(text) and rows > 500


def group_key(doc: Document, url: str | None = None, site_name: str | None = None) -> str:
    """The "source" a document belongs to, for cross-document repetition."""
    if doc.site_name or site_name:
        return "site:" + (doc.site_name or site_name or "").strip().lower()
    for u in (doc.url, url):
        host = urlparse(u).hostname if u else None
        if host:
            return "host:" + host.lower().removeprefix("www.")
    src = doc.source or ""
    # "folder/file.jsonl:12" (one line of a JSONL file) -> the file; "folder/a.txt" -> the folder
    base = src.rsplit(":", 1)[0] if src.rsplit(":", 1)[-1].isdigit() else src
    if base != src:
        return "file:" + base
    return "dir:" + os.path.dirname(base)


def cross_doc_keys(key_sets: list[set[str]], min_docs: int = CROSS_DOC_MIN_DOCS,
                   share: float = CROSS_DOC_SHARE) -> frozenset[str]:
    """Line keys present in enough documents of one group."""
    n = len(key_sets)
    need = max(min_docs, math.ceil(share * n))
    if n < need:
        return frozenset()
    counts: dict[str, int] = {}
    for ks in key_sets:
        for k in ks:
            counts[k] = counts.get(k, 0) + 1
    return frozenset(k for k, c in counts.items() if c >= need and len(k.split()) <= CROSS_DOC_MAX_TOKENS)


class CleanStep(Step):
    name = "clean"
    version = "3"  # 2 -> 3: widget cues for th/zh/ja/ru/tr/fa; Thai sara am kept; combining marks stay in line keys

    def __init__(self, cross_doc: bool = True, **_: object):
        self.cross_doc = cross_doc

    def process(self, doc: Document) -> Document:
        return self.process_batch([doc])[0]

    def process_batch(self, docs: list[Document]) -> list[Document]:
        from tasks.clean_html import extract_html

        # pass 1: the lines each document offers (HTML: what trafilatura kept)
        prepared = []
        for doc in docs:
            content = doc.content or ""
            html = extract_html(content, doc.url) if doc.format == "html" else None
            if html is not None and (not html.text.strip() or _layout_table(html.text)):
                # trafilatura found no article: classify the flattened page instead
                from tasks.clean_html import html_to_text

                lines_text, mode = html_to_text(content, html.tree), "html-lines"
            elif html is not None:
                lines_text, mode = html.text, "html"
            else:
                lines_text, mode = content.replace("\r\n", "\n").replace("\r", "\n"), "text"
            if html is not None:
                html.tree = None  # not kept for the whole batch
            gk = group_key(doc, html.url if html else None, html.site_name if html else None)
            prepared.append((doc, html, lines_text, mode, gk))

        # pass 2: lines recurring across documents of the same group
        cross: dict[str, frozenset[str]] = {}
        if self.cross_doc and len(docs) >= CROSS_DOC_MIN_DOCS:
            texts: dict[str, list[str]] = {}
            for _, _, text, _, gk in prepared:
                texts.setdefault(gk, []).append(text)
            # a group smaller than CROSS_DOC_MIN_DOCS can have no such line: skip its keys
            cross = {gk: cross_doc_keys([candidate_keys(t) for t in ts])
                     for gk, ts in texts.items() if len(ts) >= CROSS_DOC_MIN_DOCS}

        # pass 3: classify and fill the document
        for doc, html, text, mode, gk in prepared:
            keys = cross.get(gk, frozenset())
            if mode == "html":
                res = postfilter(text, title=html.title, cross_doc=keys)
            else:
                res = classify_text(text, cross_doc=keys)
            self._fill(doc, res, html, mode, gk, len(keys))
        return docs

    @staticmethod
    def _fill(doc: Document, res: TextResult, html, mode: str, group: str, n_cross: int) -> None:
        doc.text = "\n".join(ln.raw.strip() for ln in res.body)
        line_numbers = mode == "text"
        doc.removed = [Removed(text=ln.raw.strip(), reason=ln.reason or "boilerplate",
                               line=ln.no if line_numbers else None) for ln in res.removed]
        title = (html.title if html else None) or res.title
        if not doc.title and title:
            doc.title = title.strip()
        published, source = None, None
        if html is not None and html.published:
            published, source = html.published, "meta"
        if res.published and (published is None or (len(res.published) > len(published)
                                                     and res.published.startswith(published))):
            published, source = res.published, ("meta" if published else "dateline")
        if published and (not doc.published or doc.published_source not in ("input",)):
            if not doc.published:
                doc.published, doc.published_source = published, source
        if res.publisher and not doc.publisher:
            doc.publisher = res.publisher
        meta_author = html.author if html else None
        if meta_author and len(meta_author.split()) > 6:  # a bio or a list glued to the name
            meta_author = None
        author = res.author or meta_author
        if author and not doc.author:
            doc.author = author
        if html is not None:
            if html.site_name and not doc.site_name:
                doc.site_name = html.site_name
            if html.url and not doc.url:
                doc.url = html.url
        doc.provenance["clean"] = {
            "mode": mode,
            "kept": len(res.body),
            "removed": len(res.removed),
            "title_line": res.title_line,
            "group": group,
            "cross_doc_keys": n_cross,
        }
