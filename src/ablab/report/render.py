"""Render a Report: terminal text, Markdown, self-contained HTML, CSV.

Every string that came from MLflow (arm names, params, errors, the study name) is escaped for
the target format: Markdown backslash escapes, HTML entities.
"""

from __future__ import annotations

import base64
import html
import re
from dataclasses import dataclass
from pathlib import Path

from ablab.report import cells
from ablab.report.degenerate import degenerate_notes
from ablab.report.detail_cells import sections
from ablab.report.findings import Report
from ablab.report.path_cells import write_path_csv
from ablab.report.words import results_paragraph


@dataclass(frozen=True)
class Picture:
    filename: str
    title: str
    caption: str
    png: bytes


# ---- CSV ---------------------------------------------------------------------------------------


def write_csv(report: Report, path: Path) -> None:
    """The table's numbers at full precision; delta, CI, margin and MDE in delta_unit (pp for
    accuracies); ``degenerate``: why an arm's numbers mislead (report.degenerate). A ladder adds
    ``table_vs_baseline.csv``, a factorial ``anova.csv`` and ``cell_means.csv`` beside it, a
    fractional screening ``effects.csv``, ``aliases.csv`` (and ``confirmation.csv``)."""
    unit = report.metric.delta_unit or "metric units"
    why = {arm: found.what() for arm, found in report.degenerate.items()}  # effect sizes left empty
    degenerate = report.table["arm"].map(why).fillna("")
    report.table.assign(metric=report.metric.label, delta_unit=unit, degenerate=degenerate).to_csv(
        path, index=False
    )
    if report.baseline_table is not None:
        report.baseline_table.assign(metric=report.metric.label, delta_unit=unit).to_csv(
            path.with_name("table_vs_baseline.csv"), index=False
        )
    if report.path is not None:
        write_path_csv(report.path, path)
    if report.factorial is not None:
        report.factorial.anova.to_csv(path.with_name("anova.csv"), index=False)
        report.factorial.cell_means.to_csv(path.with_name("cell_means.csv"), index=False)
    if report.screening is not None:
        report.screening.effects.assign(delta_unit=unit).to_csv(path.with_name("effects.csv"), index=False)
        report.screening.aliases.to_csv(path.with_name("aliases.csv"), index=False)
    if report.confirmation is not None:
        report.confirmation.assign(metric=report.metric.label, delta_unit=unit).to_csv(
            path.with_name("confirmation.csv"), index=False
        )


# ---- terminal ----------------------------------------------------------------------------------


def to_terminal(report: Report) -> str:
    lines = [f"Ablation report: {report.launch.study}"]
    lines += [f"  {label}: {value}" for label, value in cells.headline(report)]
    message = cells.empty_message(report)
    if message:
        lines += ["", message]
    lines += ["", *_text_table(cells.ablation_headers(report), cells.ablation_rows(report))]
    lines += ["", *degenerate_notes(report.degenerate, report.metric.label)] if report.degenerate else []
    for section in sections(report):
        lines += ["", f"{section.title}:", *_text_table(section.headers, section.rows)]
    unfinished = cells.unfinished_rows(report)
    if unfinished:
        lines += ["", "Not in the averages:", *_text_table(cells.UNFINISHED_HEADERS, unfinished)]
    return "\n".join(lines)


def _text_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    lines = [line.format(*headers), line.format(*("-" * width for width in widths))]
    return [text.rstrip() for text in lines + [line.format(*row) for row in rows]]


# ---- Markdown ----------------------------------------------------------------------------------

# CommonMark lets any ASCII punctuation be backslash-escaped; these would otherwise format,
# link, open inline HTML or (|) split a table cell.
_MARKDOWN_SPECIAL = re.compile(r"([\\`*_{}\[\]<>#!|~&$])")
# At the start of a line these open a list item: "- x", "+ x", "1. x", "1) x".
_MARKDOWN_LEADING = re.compile(r"^(\d*)([-+.)])(?=\s|$)")


def md(text: object) -> str:
    """User text as literal Markdown on one line (safe inside a table cell)."""
    escaped = _MARKDOWN_SPECIAL.sub(r"\\\1", " ".join(str(text).split()))
    return _MARKDOWN_LEADING.sub(r"\1\\\2", escaped)


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(md(h) for h in headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(md(cell) for cell in row) + " |" for row in rows]


def to_markdown(report: Report, pictures: list[Picture]) -> str:
    lines = [f"# Ablation report: {md(report.launch.study)}", ""]
    lines += [f"- **{label}:** {md(value)}" for label, value in cells.headline(report)]
    message = cells.empty_message(report)
    lines += ["", "## Results in words", "", md(results_paragraph(report))]
    lines += ["", "## Ablation table", ""]
    if message:
        lines += [md(message), ""]
    lines += _md_table(cells.ablation_headers(report), cells.ablation_rows(report))
    lines += ["", *(f"- {md(note)}" for note in report.notes)]
    for section in sections(report):
        lines += ["", f"## {md(section.title)}", "", *_md_table(section.headers, section.rows), ""]
        lines += [f"- {md(note)}" for note in section.notes]
    lines += ["", "## Runs not in the averages", ""]
    unfinished = cells.unfinished_rows(report)
    if unfinished:
        lines += _md_table(cells.UNFINISHED_HEADERS, unfinished)
    else:
        lines.append("None: every planned run has a FINISHED run.")
    if pictures:
        lines += ["", "## Figures"]
        for picture in pictures:
            lines += [
                "",
                f"### {md(picture.title)}",
                "",
                md(picture.caption),
                "",
                f"![{md(picture.title)}]({picture.filename})",
            ]
    return "\n".join(lines) + "\n"


# ---- HTML --------------------------------------------------------------------------------------

_STYLE = """
body { font-family: system-ui, sans-serif; margin: 2em auto; max-width: 1400px; padding: 0 1em; color: #222; }
.table-box { overflow-x: auto; max-width: 100%; margin: 1em 0; }
table { border-collapse: collapse; font-size: 0.9em; }
th, td { border: 1px solid #ccc; padding: 0.3em 0.6em; text-align: left; vertical-align: top; }
th { background: #f2f2f2; }
tr.reference td { background: #f7f7ff; }
td.better { color: #137333; font-weight: 600; } td.worse { color: #b3261e; font-weight: 600; }
img { max-width: 100%; height: auto; border: 1px solid #eee; }
li, p { overflow-wrap: anywhere; }
.message { padding: 0.8em; background: #fff6e0; border: 1px solid #f0d080; }
"""


def h(text: object) -> str:
    return html.escape(str(text), quote=True)


def _html_table(
    headers: list[str],
    rows: list[list[str]],
    row_classes: list[str] | None = None,
    verdict_column: int | None = None,
) -> list[str]:
    # In a box of its own that scrolls sideways: a wide table never widens the page.
    out = ['<div class="table-box"><table>']
    out.append("<tr>" + "".join(f"<th>{h(header)}</th>" for header in headers) + "</tr>")
    for number, row in enumerate(rows):
        css = f' class="{h(row_classes[number])}"' if row_classes and row_classes[number] else ""
        tds = []
        for column, cell in enumerate(row):
            cell_css = (
                f' class="{h(cell)}"' if column == verdict_column and cell in ("better", "worse") else ""
            )
            tds.append(f"<td{cell_css}>{h(cell)}</td>")
        out.append(f"<tr{css}>" + "".join(tds) + "</tr>")
    return out + ["</table></div>"]


def to_html(report: Report, pictures: list[Picture]) -> str:
    title = f"Ablation report: {report.launch.study}"
    parts = [
        "<!DOCTYPE html>",
        '<html lang="en"><head><meta charset="utf-8">',
        f"<title>{h(title)}</title>",
        f"<style>{_STYLE}</style></head><body>",
        f"<h1>{h(title)}</h1>",
        "<ul>",
    ]
    parts += [f"<li><b>{h(label)}:</b> {h(value)}</li>" for label, value in cells.headline(report)]
    parts += ["</ul>", "<h2>Results in words</h2>", f"<p>{h(results_paragraph(report))}</p>"]
    parts.append("<h2>Ablation table</h2>")
    message = cells.empty_message(report)
    if message:
        parts.append(f'<p class="message">{h(message)}</p>')
    classes = ["reference" if is_reference else "" for is_reference in report.table["reference"]]
    headers = cells.ablation_headers(report)
    parts += _html_table(headers, cells.ablation_rows(report), classes, headers.index("verdict"))
    parts += ["<ul>", *(f"<li>{h(note)}</li>" for note in report.notes), "</ul>"]
    for section in sections(report):
        parts += [f"<h2>{h(section.title)}</h2>", *_html_table(section.headers, section.rows)]
        parts += ["<ul>", *(f"<li>{h(note)}</li>" for note in section.notes), "</ul>"]
    parts.append("<h2>Runs not in the averages</h2>")
    unfinished = cells.unfinished_rows(report)
    if unfinished:
        parts += _html_table(cells.UNFINISHED_HEADERS, unfinished)
    else:
        parts.append("<p>None: every planned run has a FINISHED run.</p>")
    if pictures:
        parts.append("<h2>Figures</h2>")
    for picture in pictures:
        data = base64.b64encode(picture.png).decode("ascii")
        parts += [
            f"<h3>{h(picture.title)}</h3>",
            f"<p>{h(picture.caption)}</p>",
            f'<img alt="{h(picture.title)}" src="data:image/png;base64,{data}">',
        ]
    parts.append("</body></html>")
    return "\n".join(parts) + "\n"
