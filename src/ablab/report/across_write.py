"""A several-datasets report on disk: the across-datasets section and its critical-difference
diagram, each dataset's tables and figures (file names prefixed with the dataset), one folder."""

from __future__ import annotations

import re
from pathlib import Path

import matplotlib.pyplot as plt
import pandas as pd
import scikit_posthocs
from matplotlib.figure import Figure
from mlflow.entities import Run
from mlflow.tracking import MlflowClient

from ablab.report.across import DatasetsReport
from ablab.report.across_render import (
    across_csv,
    datasets_paragraph,
    to_html_datasets,
    to_markdown_datasets,
    to_terminal_datasets,
)
from ablab.report.latex import to_latex
from ablab.report.make import _new_folder, _png, draw, finish_folder, log_folder
from ablab.report.render import Picture, write_csv

CD_FILE = "cd_diagram.png"


def cd_diagram(report: DatasetsReport) -> Figure | None:
    """scikit-posthocs' critical-difference diagram of the mean ranks; None without Nemenyi."""
    ranking = report.across.ranking
    if ranking is None or ranking.nemenyi is None:
        return None
    figure, ax = plt.subplots(figsize=(7, 0.6 + 0.35 * len(ranking.mean_ranks)))
    scikit_posthocs.critical_difference_diagram(ranking.mean_ranks, ranking.nemenyi, ax=ax)
    ax.set_title(f"Mean rank over {len(report.across.datasets)} datasets (1 = best)")
    figure.tight_layout()
    return figure


def _safe(name: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "_", name).strip("._") or "dataset"


def write_datasets_report(
    report: DatasetsReport,
    client: MlflowClient,
    parent: Run | None,
    out_root: Path,
    log_to_mlflow: bool = True,
    echo: bool = False,
    latex: bool = False,
) -> Path:
    """report.md/html, table.csv (every dataset's rows, a ``dataset`` column), across.csv,
    table.tex (one table per dataset), results.txt and the figures; returns the folder."""
    folder = _new_folder(out_root, report.launch.study, report.first.created)
    pictures: dict[str, list[Picture]] = {}
    tables = []
    for dataset, section in report.sections.items():
        prefix = _safe(dataset)
        pictures[dataset] = [
            Picture(f"{prefix}_{p.filename}", f"{p.title} ({dataset})", p.caption, p.png)
            for p in draw(section)
        ]
        path = folder / f"table_{prefix}.csv"
        write_csv(section, path)
        tables.append(pd.read_csv(path).assign(dataset=dataset))
        path.unlink()
    for picture in [p for group in pictures.values() for p in group]:
        (folder / picture.filename).write_bytes(picture.png)
    figure = cd_diagram(report)
    diagram = None
    if figure is not None:
        diagram = Picture(
            CD_FILE,
            "Critical-difference diagram",
            "Mean rank of each arm over the datasets (1 = best); a bar joins arms that Nemenyi's test "
            "cannot tell apart.",
            _png(figure),
        )
        (folder / CD_FILE).write_bytes(diagram.png)
    (folder / "report.md").write_text(to_markdown_datasets(report, pictures, diagram), encoding="utf-8")
    (folder / "report.html").write_text(to_html_datasets(report, pictures, diagram), encoding="utf-8")
    table = pd.concat(tables, ignore_index=True)
    table[["dataset", *table.columns.drop("dataset")]].to_csv(folder / "table.csv", index=False)
    across_csv(report).to_csv(folder / "across.csv", index=False)
    tex = "\n".join(to_latex(section) for section in report.sections.values())
    terminal = to_terminal_datasets(report) if echo else None
    finish_folder(folder, tex, datasets_paragraph(report), terminal, latex)
    if log_to_mlflow and parent is not None:
        log_folder(client, parent, folder)
    return folder
