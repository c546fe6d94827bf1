"""The runbook as Markdown or as one self-contained HTML file (inline style, no script, nothing
fetched: it opens offline, and prints).

Text in the content model is plain with `backticks` around code. Everything else is escaped for
the format: the contacts file is free text, and a name with `<` or `|` in it must not become markup
or break a table. Every text passes through the redactor first (orchestrator/redact.py).
"""

from __future__ import annotations

import html
import re

from orchestrator.redact import REDACTOR
from orchestrator.runbook.model import Bullets, Fields, Para, Runbook, Subsection, Table

FORMATS = ("md", "html")


def render(book: Runbook, fmt: str) -> str:
    if fmt == "md":
        return render_markdown(book)
    if fmt == "html":
        return render_html(book)
    raise ValueError(f"unknown runbook format {fmt!r} (known: {', '.join(FORMATS)})")


def _spans(text: str) -> list[tuple[bool, str]]:
    """(is_code, text) parts; an unmatched backtick is kept as text. Secrets are masked here, before
    escaping: once `&` is `&amp;`, a SAS signature no longer looks like one to the redactor."""
    parts = REDACTOR.text(text).split("`")
    if len(parts) % 2 == 0:
        parts[-2:] = [parts[-2] + "`" + parts[-1]]
    return [(index % 2 == 1, part) for index, part in enumerate(parts) if part]


# -- Markdown ---------------------------------------------------------------------------------------


def _md(text: str, cell: bool = False) -> str:
    out = []
    for code, part in _spans(" ".join(text.split())):
        if not code:
            # Raw HTML passes through Markdown viewers: neutralise it; `\` and `*` would start escapes or emphasis.
            part = part.replace("\\", "\\\\").replace("<", "&lt;").replace(">", "&gt;").replace("*", "\\*")
        elif "`" in part:
            part = part.replace("`", "'")
        out.append(f"`{part}`" if code else part)
    result = "".join(out)
    return result.replace("|", "\\|") if cell else result


def _md_blocks(blocks, level: int) -> list[str]:
    lines: list[str] = []
    for block in blocks:
        if isinstance(block, Para):
            lines += [_md(block.text), ""]
        elif isinstance(block, Bullets):
            box = "[ ] " if block.checklist else ""
            lines += [f"- {box}{_md(item)}" for item in block.items] + [""]
        elif isinstance(block, Table):
            lines.append("| " + " | ".join(_md(h, cell=True) for h in block.headers) + " |")
            lines.append("|" + "---|" * len(block.headers))
            lines += ["| " + " | ".join(_md(c, cell=True) for c in row) + " |" for row in block.rows]
            lines.append("")
        elif isinstance(block, Fields):
            for label, values in block.items:
                if len(values) == 1:
                    lines.append(f"- **{_md(label)}:** {_md(values[0])}")
                else:
                    lines.append(f"- **{_md(label)}:**")
                    lines += [f"  - {_md(value)}" for value in values]
            lines.append("")
        elif isinstance(block, Subsection):
            lines += [f"{'#' * level} {_md(block.title)}", "", *_md_blocks(block.blocks, level + 1)]
    return lines


def render_markdown(book: Runbook) -> str:
    lines = [f"# {_md(book.title)}", "", *_md_blocks(book.intro, 3)]
    lines += ["## Contents", ""] + [f"{n}. {_md(section.title)}" for n, section in enumerate(book.sections, 1)] + [""]
    for section in book.sections:
        lines += [f"## {_md(section.title)}", "", *_md_blocks(section.blocks, 3)]
    return "\n".join(lines).rstrip("\n") + "\n"


# -- HTML ---------------------------------------------------------------------------------------------

_STYLE = """
body { font: 15px/1.5 system-ui, -apple-system, "Segoe UI", sans-serif; max-width: 72rem; margin: 2rem auto;
       padding: 0 1rem; color: #1b1f24; }
h1 { border-bottom: 2px solid #1b1f24; } h2 { margin-top: 2.5rem; border-bottom: 1px solid #c9ced6; }
h3 { margin-top: 1.8rem; } code { background: #f2f4f7; padding: 0 .25em; border-radius: 3px; font-size: .92em; }
table { border-collapse: collapse; margin: .6rem 0 1rem; } th, td { border: 1px solid #c9ced6; padding: .3rem .5rem;
       text-align: left; vertical-align: top; } th { background: #eef1f5; }
ul.checklist { list-style: none; padding-left: 1.2rem; } ul.checklist li::before { content: "\\2610\\00a0"; }
section.step { border-left: 4px solid #3d6fb4; padding-left: .8rem; margin: 1.2rem 0; }
dt { font-weight: 600; margin-top: .4rem; } dd { margin-left: 1.2rem; } dd ul { margin: 0; padding-left: 1.1rem; }
@media print { body { max-width: none; margin: 0; } section.step { break-inside: avoid; } }
"""


def _h(text: str) -> str:
    return "".join(f"<code>{html.escape(part)}</code>" if code else html.escape(part) for code, part in _spans(text))


def _slug(text: str) -> str:
    return re.sub(r"[^a-z0-9]+", "-", text.lower()).strip("-")


def _html_blocks(blocks, level: int) -> list[str]:
    out: list[str] = []
    for block in blocks:
        if isinstance(block, Para):
            out.append(f"<p>{_h(block.text)}</p>")
        elif isinstance(block, Bullets):
            css = ' class="checklist"' if block.checklist else ""
            out.append(f"<ul{css}>" + "".join(f"<li>{_h(item)}</li>" for item in block.items) + "</ul>")
        elif isinstance(block, Table):
            head = "".join(f"<th>{_h(h)}</th>" for h in block.headers)
            body = "".join("<tr>" + "".join(f"<td>{_h(c)}</td>" for c in row) + "</tr>" for row in block.rows)
            out.append(f"<table><thead><tr>{head}</tr></thead><tbody>{body}</tbody></table>")
        elif isinstance(block, Fields):
            items = []
            for label, values in block.items:
                value = _h(values[0]) if len(values) == 1 else "<ul>" + "".join(f"<li>{_h(v)}</li>" for v in values) + "</ul>"
                items.append(f"<dt>{_h(label)}</dt><dd>{value}</dd>")
            out.append("<dl>" + "".join(items) + "</dl>")
        elif isinstance(block, Subsection):
            anchor = html.escape(block.anchor or _slug(block.title), quote=True)
            css = ' class="step"' if block.anchor.startswith("step-") else ""
            out.append(f'<section id="{anchor}"{css}><h{level}>{_h(block.title)}</h{level}>')
            out += _html_blocks(block.blocks, min(level + 1, 6))
            out.append("</section>")
    return out


def render_html(book: Runbook) -> str:
    toc = "".join(f'<li><a href="#{_slug(s.title)}">{_h(s.title)}</a></li>' for s in book.sections)
    parts = ["<!DOCTYPE html>", '<html lang="en">', "<head>", '<meta charset="utf-8">', f"<title>{html.escape(REDACTOR.text(book.title))}</title>", f"<style>{_STYLE}</style>", "</head>", "<body>", f"<h1>{_h(book.title)}</h1>", *_html_blocks(book.intro, 3), f"<nav><h2>Contents</h2><ol>{toc}</ol></nav>"]
    for section in book.sections:
        parts.append(f'<section id="{_slug(section.title)}"><h2>{_h(section.title)}</h2>')
        parts += _html_blocks(section.blocks, 3)
        parts.append("</section>")
    parts += ["</body>", "</html>"]
    return "\n".join(parts) + "\n"
