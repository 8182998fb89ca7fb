"""``index.html``: the report a physicist opens — a static page (no server, no script; it opens from disk).

At the top the answer: the headline of every validation (:mod:`hepgen.validation.headline`) as a table and in words;
then one section per validation with its verdicts in words (which method wins, with errors; the calibration
verdicts), its key figures inline (PNG, each linked to its PDF) and its full tables (``summary.md``) folded below.
What a validation is missing (an unfinished validation, a figure not drawn) is said where it would be. Every path in
the page is relative to it, so the folder can be copied or archived whole. Written atomically.
"""

from __future__ import annotations

import html
import os
from dataclasses import replace
from datetime import datetime, timezone
from pathlib import Path

import markdown

from hepgen import __version__
from hepgen.io.writer import atomic_path
from hepgen.report.folders import ValidationFolder, find_validations
from hepgen.validation.headline import calibration_sentences, headline_sentence, headline_table, headlines

__all__ = ["REPORT_FILE", "write_report_page", "report_html"]

#: The page's file name in the results folder.
REPORT_FILE = "index.html"

_TITLES = {
    "neutrino": "Neutrino regression (ℓ+jets)",
    "dineutrino": "Two neutrinos (dilepton tt̄)",
    "pileup": "Pileup removal (VIPR)",
}
_STYLE = """
body { font-family: system-ui, sans-serif; max-width: 1200px; margin: 2em auto; padding: 0 1em; color: #222; }
h1 { margin-bottom: 0.2em; } .meta { color: #666; }
table { border-collapse: collapse; margin: 1em 0; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.25em 0.5em; text-align: left; } th { background: #f0f0f0; }
.figures { display: flex; flex-wrap: wrap; gap: 1em; }
figure { margin: 0; width: 360px; } figure.wide { width: 100%; } figure img { width: 100%; border: 1px solid #ddd; }
figcaption { font-size: 0.85em; color: #555; } .missing { color: #a40; }
details { margin: 1em 0; } summary { cursor: pointer; font-weight: 600; }
section { border-top: 2px solid #ddd; margin-top: 2em; }
"""


def _md(text: str) -> str:
    return markdown.markdown(text, extensions=["tables"])


def _aspect(png: Path) -> float:
    """Width / height of a PNG, from its header (IHDR: big-endian width and height at bytes 16–24)."""
    with open(png, "rb") as f:
        header = f.read(24)
    width, height = int.from_bytes(header[16:20], "big"), int.from_bytes(header[20:24], "big")
    return width / height if height else 1.0


def _figure(png: Path, page_dir: Path) -> str:
    """A figure linked to its PDF; a many-panel figure (wider than 1.6:1) spans the page's width."""
    src = html.escape(os.path.relpath(png, page_dir))
    wide = ' class="wide"' if _aspect(png) > 1.6 else ""
    pdf = png.with_suffix(".pdf")
    link = html.escape(os.path.relpath(pdf, page_dir)) if pdf.exists() else src
    caption = html.escape(png.stem.replace("_", " ")) + (" (PDF)" if pdf.exists() else "")
    image = f'<a href="{link}"><img src="{src}" alt="{html.escape(png.stem)}"></a>'
    return f"<figure{wide}>{image}<figcaption>{caption}</figcaption></figure>"


def _section(folder: ValidationFolder, page_dir: Path) -> str:
    where = os.path.relpath(folder.path, page_dir)
    title = _TITLES.get(folder.kind or "", "Validation")
    parts = [f"<section><h2>{html.escape(title)} — <code>{html.escape(where)}</code></h2>"]
    if folder.metrics is not None and folder.kind is not None:
        metrics = folder.metrics
        events = metrics.get("events") or metrics.get("test_jets") or ""
        if events:
            parts.append(f'<p class="meta">{events} test events</p>')
        rows = headlines(metrics)
        words = [headline_sentence(r) for r in rows] or ["no learned method with a baseline to compare against."]
        parts.append("<h3>Verdict</h3><ul>" + "".join(f"<li>{html.escape(w)}</li>" for w in words) + "</ul>")
        calibration = calibration_sentences(metrics)
        if calibration:
            items = "".join(f"<li>{html.escape(s)}</li>" for s in calibration)
            parts.append(f"<h3>Calibration of the posteriors</h3><ul>{items}</ul>")
    elif folder.metrics is not None:
        parts.append('<p class="missing">metrics.json of an unknown kind: no verdict.</p>')
    if folder.missing:
        items = "".join(f"<li>{html.escape(m)}</li>" for m in folder.missing)
        parts.append(f'<div class="missing"><h3>Missing</h3><ul>{items}</ul></div>')
    if folder.figures:
        parts.append('<div class="figures">' + "".join(_figure(p, page_dir) for p in folder.figures) + "</div>")
    summary = folder.path / "summary.md"
    if summary.exists():
        tables = _md(summary.read_text(encoding="utf-8"))
        parts.append(f"<details><summary>Full tables ({html.escape(where)}/summary.md)</summary>{tables}</details>")
    return "\n".join(parts) + "</section>"


def report_html(root: str | os.PathLike, title: str = "hepgen results") -> str:
    """The page for the validations in ``root`` (:func:`~hepgen.report.folders.find_validations`), as text."""
    root = Path(root)
    folders = find_validations(root)
    rows = [  # each row says which validation it is from: a folder may hold two of one kind (e.g. two pileup worlds)
        replace(r, task=f"{r.task} ({os.path.relpath(f.path, root)})")
        for f in folders
        if f.metrics is not None
        for r in headlines(f.metrics)
    ]
    stamp = datetime.now(timezone.utc).strftime("%Y-%m-%d %H:%M UTC")
    incomplete = [os.path.relpath(f.path, root) for f in folders if not f.complete]
    head = [
        f"<h1>{html.escape(title)}</h1>",
        f'<p class="meta">{len(folders)} validation(s) in <code>{html.escape(str(root))}</code>; '
        f"written {stamp} by hepgen {html.escape(__version__)}.</p>",
    ]
    if incomplete:
        head.append(f'<p class="missing">Incomplete: {html.escape(", ".join(incomplete))} (see their sections).</p>')
    if rows:
        table = _md("\n".join(headline_table(rows)))
        head.append(
            "<h2>The answer</h2><p>Our method against its strongest baseline on the same events (a smaller "
            "resolution is better; the difference's error is paired).</p>" + table
        )
    body = "\n".join([*head, *(_section(f, root) for f in folders)])
    return (
        f'<!doctype html>\n<html lang="en"><head><meta charset="utf-8"><title>{html.escape(title)}</title>'
        f"<style>{_STYLE}</style></head>\n<body>\n{body}\n</body></html>\n"
    )


def write_report_page(root: str | os.PathLike, title: str = "hepgen results") -> Path:
    """Write ``root/index.html`` atomically (never half a page); returns its path."""
    page = report_html(root, title)
    path = Path(root) / REPORT_FILE
    with atomic_path(path) as tmp:
        tmp.write_text(page, encoding="utf-8")
    return path
