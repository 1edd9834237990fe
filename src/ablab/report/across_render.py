"""A several-datasets report as text: the across-datasets section (terminal, Markdown, HTML, CSV,
words), then each dataset's own report as today's renderers write it, one section each."""

from __future__ import annotations

import base64
import math
import re

import pandas as pd

from ablab.report.across import DatasetsReport
from ablab.report.cells import number, p_value
from ablab.report.render import Picture, h, md, to_html, to_markdown, to_terminal
from ablab.report.words import results_paragraph, verdict_lines

COUNT_HEADERS = [
    "arm",
    "better",
    "equivalent",
    "worse",
    "inconclusive",
    "untested",
    "mean rank",
    "Nemenyi p vs ref",
]
SUMMARY_HEADERS = ["arm", "P(worse)", "P(equivalent)", "P(better)", "IQM [95% CI]", "P(improvement) [95% CI]"]


def _cell(value: float, digits: int = 3) -> str:
    return "–" if value is None or (isinstance(value, float) and math.isnan(value)) else number(value, digits)


def _interval(row: pd.Series, name: str) -> str:
    if math.isnan(row[name]):
        return "–"
    if math.isnan(row[f"{name}_low"]):
        return _cell(row[name])
    return f"{_cell(row[name])} [{_cell(row[f'{name}_low'])}, {_cell(row[f'{name}_high'])}]"


def count_rows(report: DatasetsReport) -> list[list[str]]:
    rows = []
    for _, row in report.across.table.iterrows():
        name = f"{row['arm']} (reference)" if row["reference"] else row["arm"]
        counts = ["–"] * 5 if row["reference"] else [str(int(row[v])) for v in COUNT_HEADERS[1:6]]
        rows.append([name, *counts, _cell(row["mean_rank"], 2), p_value(row["nemenyi_p"])])
    return rows


def summary_rows(report: DatasetsReport) -> list[list[str]]:
    rows = []
    for _, row in report.across.table.iterrows():
        name = f"{row['arm']} (reference)" if row["reference"] else row["arm"]
        chances = [_cell(row[c]) for c in ("p_worse", "p_equivalent", "p_better")]
        rows.append([name, *chances, _interval(row, "iqm"), _interval(row, "p_improvement")])
    return rows


def headline(report: DatasetsReport) -> list[str]:
    across, first = report.across, report.first
    lines = [
        f"Datasets: {', '.join(report.sections)} (study.datasets); metric {first.metric.label}, "
        f"{'higher' if first.metric.higher_is_better else 'lower'} is better; reference arm "
        f"{report.launch.reference_arm}.",
        f"IQM scores: {across.normalization}.",
    ]
    ranking = across.ranking
    if ranking is not None and not math.isnan(ranking.friedman_p):
        lines.append(
            f"Friedman test over {len(across.datasets)} datasets: chi-square = "
            f"{ranking.friedman_statistic:.3f}, p = {p_value(ranking.friedman_p)}."
        )
    return lines


def _text_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    widths = [max(len(str(cell)) for cell in column) for column in zip(headers, *rows, strict=True)]
    line = "  ".join(f"{{:<{width}}}" for width in widths)
    return [line.format(*headers).rstrip(), *(line.format(*row).rstrip() for row in rows)]


def to_terminal_datasets(report: DatasetsReport) -> str:
    lines = [f"Across datasets: {report.launch.study}", *(f"  {line}" for line in headline(report))]
    if not report.across.table.empty:
        lines += ["", *_text_table(COUNT_HEADERS, count_rows(report))]
        lines += ["", *_text_table(SUMMARY_HEADERS, summary_rows(report))]
    lines += ["", *report.across.notes]
    for section in report.sections.values():
        lines += ["", to_terminal(section)]
    return "\n".join(lines)


def _md_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(md(x) for x in headers) + " |", "|" + "---|" * len(headers)]
    return lines + ["| " + " | ".join(md(x) for x in row) + " |" for row in rows]


def _demoted(markdown: str) -> str:
    """A dataset's whole report one heading level down, as a section of this one."""
    return re.sub(r"^(#+) ", r"#\1 ", markdown, flags=re.MULTILINE)


def across_markdown(report: DatasetsReport, diagram: Picture | None) -> list[str]:
    lines = ["## Across datasets", "", *(f"- {md(line)}" for line in headline(report)), ""]
    if not report.across.table.empty:
        lines += ["### Verdicts and mean ranks", "", *_md_table(COUNT_HEADERS, count_rows(report)), ""]
        lines += ["### Over datasets: Bayesian signed-rank, IQM, probability of improvement", ""]
        lines += [*_md_table(SUMMARY_HEADERS, summary_rows(report)), ""]
    lines += [f"- {md(note)}" for note in report.across.notes]
    if diagram:
        lines += [
            "",
            f"### {md(diagram.title)}",
            "",
            md(diagram.caption),
            "",
            f"![{md(diagram.title)}]({diagram.filename})",
        ]
    return lines


def to_markdown_datasets(
    report: DatasetsReport, pictures: dict[str, list[Picture]], diagram: Picture | None
) -> str:
    lines = [f"# Ablation report: {md(report.launch.study)}", "", "## Results in words", ""]
    lines += [md(datasets_paragraph(report)), "", *across_markdown(report, diagram)]
    for dataset, section in report.sections.items():
        lines += ["", _demoted(to_markdown(section, pictures[dataset]))]
    return "\n".join(lines) + "\n"


def _html_body(document: str) -> str:
    """A dataset's HTML report without its page frame, headings one level down."""
    body = document.split("<body>", 1)[1].rsplit("</body>", 1)[0]
    for level in (5, 4, 3, 2, 1):
        body = body.replace(f"<h{level}>", f"<h{level + 1}>").replace(f"</h{level}>", f"</h{level + 1}>")
    return body


def _html_table(headers: list[str], rows: list[list[str]]) -> list[str]:
    out = ['<div class="table-box"><table>', "<tr>" + "".join(f"<th>{h(x)}</th>" for x in headers) + "</tr>"]
    out += ["<tr>" + "".join(f"<td>{h(x)}</td>" for x in row) + "</tr>" for row in rows]
    return out + ["</table></div>"]


def to_html_datasets(
    report: DatasetsReport, pictures: dict[str, list[Picture]], diagram: Picture | None
) -> str:
    sections = [to_html(section, pictures[d]) for d, section in report.sections.items()]
    head = (
        sections[0]
        .split("<body>", 1)[0]
        .replace(
            h(f"Ablation report: {report.first.launch.study}"), h(f"Ablation report: {report.launch.study}")
        )
    )
    parts = [head + "<body>", f"<h1>{h('Ablation report: ' + report.launch.study)}</h1>"]
    parts += [
        "<h2>Results in words</h2>",
        f"<p>{h(datasets_paragraph(report))}</p>",
        "<h2>Across datasets</h2>",
    ]
    parts += ["<ul>", *(f"<li>{h(line)}</li>" for line in headline(report)), "</ul>"]
    if not report.across.table.empty:
        parts += ["<h3>Verdicts and mean ranks</h3>", *_html_table(COUNT_HEADERS, count_rows(report))]
        parts.append("<h3>Over datasets: Bayesian signed-rank, IQM, probability of improvement</h3>")
        parts += _html_table(SUMMARY_HEADERS, summary_rows(report))
    parts += ["<ul>", *(f"<li>{h(note)}</li>" for note in report.across.notes), "</ul>"]
    if diagram:
        data = base64.b64encode(diagram.png).decode("ascii")
        parts += [f"<h3>{h(diagram.title)}</h3>", f"<p>{h(diagram.caption)}</p>"]
        parts.append(f'<img alt="{h(diagram.title)}" src="data:image/png;base64,{data}">')
    parts += [_html_body(section) for section in sections]
    return "\n".join([*parts, "</body></html>"]) + "\n"


def datasets_paragraph(report: DatasetsReport) -> str:
    """results.txt: each dataset's paragraph, then the across-datasets counts in a sentence."""
    parts = [f"On {d}: {results_paragraph(section)}" for d, section in report.sections.items()]
    table = report.across.table
    compared = table[~table["reference"].astype(bool)]
    if len(report.sections) >= 2 and not compared.empty:
        counts = "; ".join(
            f"{row['arm']} better on {row['better']}, equivalent on {row['equivalent']}, worse on "
            f"{row['worse']}, inconclusive on {row['inconclusive']}"
            for _, row in compared.iterrows()
        )
        parts.append(
            f"Across the {len(report.sections)} datasets (vs {report.launch.reference_arm}): {counts}."
        )
    return " ".join(parts)


def datasets_verdict_lines(report: DatasetsReport) -> list[str]:
    """The console's verdict lines, each prefixed with its dataset."""
    return [f"{d}: {line}" for d, section in report.sections.items() for line in verdict_lines(section)]


def across_csv(report: DatasetsReport) -> pd.DataFrame:
    return report.across.table.assign(
        metric=report.first.metric.label, normalization=report.across.normalization
    )
