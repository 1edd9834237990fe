"""make_report: find the study launch, compute the table, draw, write the files, log them to MLflow."""

from __future__ import annotations

import io
import re
import warnings
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

import matplotlib.pyplot as plt
from matplotlib.figure import Figure
from mlflow.entities import Run
from mlflow.exceptions import MlflowException
from mlflow.tracking import MlflowClient

from ablab.report import design_figures, figures, screening_figures
from ablab.report.across import DatasetsReport, dataset_names, summarise_datasets
from ablab.report.findings import Report, summarise
from ablab.report.latex import to_latex
from ablab.report.launch_record import Launch, load_launch
from ablab.report.path_figure import path_alternatives_plot
from ablab.report.render import Picture, to_html, to_markdown, to_terminal, write_csv
from ablab.report.studies import find_launch, open_client
from ablab.report.sweep import load_sweep
from ablab.report.words import results_paragraph, verdict_lines
from ablab.stats.comparisons import ALPHA
from ablab.tracking.stale_runs import describe, reap_stale_runs

ARTIFACT_FOLDER = "report"


def make_report(
    tracking_uri: str,
    *,
    parent_run_id: str | None = None,
    study: str | None = None,
    metric: str | None = None,
    out_root: str | Path = "reports",
    epoch: str | None = None,
    higher_is_better: bool | None = None,
    alpha: float = ALPHA,
    margin: float | None = None,
    log_to_mlflow: bool = True,
    echo: bool = False,
    sweep: str | None = None,
    sweep_id: str | None = None,
    reference: str | None = None,
    latex: bool = False,
) -> Path:
    """Write report.md, report.html, table.csv, table.tex, results.txt and the figures to
    ``out_root/<study>/<timestamp>/`` and (``log_to_mlflow``) under ``report/`` on the study's
    parent run; returns the folder.

    Picks the launch by ``parent_run_id``, else the latest launch of ``study``, else the latest
    launch of any study. ``metric`` (default: the study's, else test_accuracy), ``higher_is_better``
    and ``margin`` (equivalence, in the metric's units) default to what the study recorded.
    ``epoch`` ("last"/"best") reads a per-epoch ``metric``. ``echo`` prints the terminal table
    (``latex``: and the LaTeX table), then the results in words. ``sweep`` names the experiment
    of a plain Hydra multirun to report instead (``sweep_id``: which of its multiruns, default the
    latest; ``reference``: its reference arm, default the first; nothing is logged to MLflow, there
    is no parent run). Raises ReportError (StudyNotFound, MetricNotFound) for bad input.
    """
    client = open_client(tracking_uri)
    if sweep:
        parent, launch = None, load_sweep(client, sweep, reference, sweep_id)
    else:
        parent, launch = _study_launch(client, study, parent_run_id)
    if dataset_names(launch):  # study.datasets: a section per dataset and one across them
        from ablab.report.across_write import write_datasets_report  # it draws with this module's draw

        several = summarise_datasets(client, launch, metric, epoch, higher_is_better, alpha, margin)
        return write_datasets_report(several, client, parent, Path(out_root), log_to_mlflow, echo, latex)
    report = summarise(client, launch, metric, epoch, higher_is_better, alpha, margin)
    return write_report(report, client, parent, Path(out_root), log_to_mlflow, echo, latex)


@dataclass(frozen=True)
class Written:
    """A report on disk, and the findings it was written from."""

    folder: Path
    report: Report | DatasetsReport
    verdicts: list[str]  # the verdicts in words, one line per compared arm (and dataset)


def launch_report(tracking_uri: str, parent_run_id: str, out_root: str | Path = "reports") -> Written:
    """The report a study launch writes at its end, with the study's own settings, and its findings:
    the launch's console prints the verdicts from them."""
    client = open_client(tracking_uri)
    parent, launch = _study_launch(client, None, parent_run_id)
    if dataset_names(launch):
        from ablab.report.across_render import datasets_verdict_lines
        from ablab.report.across_write import write_datasets_report

        several = summarise_datasets(client, launch)
        folder = write_datasets_report(several, client, parent, Path(out_root))
        return Written(folder, several, datasets_verdict_lines(several))
    report = summarise(client, launch)
    return Written(write_report(report, client, parent, Path(out_root)), report, verdict_lines(report))


def _study_launch(client: MlflowClient, study: str | None, parent_run_id: str | None) -> tuple[Run, Launch]:
    parent = find_launch(client, study, parent_run_id)
    # Runs left RUNNING by a launch that died are marked KILLED first, and the report says so.
    stale = describe(reap_stale_runs(client, [parent.info.experiment_id]))
    if stale:
        parent = client.get_run(parent.info.run_id)
    launch = load_launch(client, parent)
    launch.notes.extend([stale] if stale else [])
    return parent, launch


def write_report(
    report: Report,
    client: MlflowClient,
    parent: Run | None,
    out_root: Path,
    log_to_mlflow: bool = True,
    echo: bool = False,
    latex: bool = False,
) -> Path:
    """The report's files in a new folder under ``out_root``, logged to ``parent`` (when there is
    one and ``log_to_mlflow``); returns the folder."""
    pictures = draw(report)
    folder = _new_folder(out_root, report.launch.study, report.created)
    for picture in pictures:
        (folder / picture.filename).write_bytes(picture.png)
    (folder / "report.md").write_text(to_markdown(report, pictures), encoding="utf-8")
    (folder / "report.html").write_text(to_html(report, pictures), encoding="utf-8")
    write_csv(report, folder / "table.csv")
    terminal = to_terminal(report) if echo else None
    finish_folder(folder, to_latex(report), results_paragraph(report), terminal, latex)
    if log_to_mlflow and parent is not None:
        log_folder(client, parent, folder)
    return folder


def finish_folder(folder: Path, tex: str, words: str, terminal: str | None, latex: bool) -> None:
    """A report folder's table.tex and results.txt; given the ``terminal`` report (None: quiet),
    it is printed (and the LaTeX table, with ``latex``), where it went, and the results in words."""
    (folder / "table.tex").write_text(tex, encoding="utf-8")
    (folder / "results.txt").write_text(words + "\n", encoding="utf-8")
    if terminal is not None:
        print(terminal)
        if latex:
            print(f"\n{tex}", end="")
        print(f"\nReport written to {folder}")
        print(f"\nResults in words (results.txt):\n{words}")


def log_folder(client: MlflowClient, parent: Run, folder: Path) -> None:
    """The report's files under ``report/`` on the launch's parent run."""
    try:
        client.log_artifacts(parent.info.run_id, str(folder), ARTIFACT_FOLDER)
    except (MlflowException, OSError) as error:
        # The files on disk are the report; failing to copy them must not lose them.
        warnings.warn(
            f"report written to {folder} but not logged to run {parent.info.run_id}: {error}",
            RuntimeWarning,
            stacklevel=3,
        )


def draw(report: Report) -> list[Picture]:
    """The figures that have data, as PNG bytes (nothing to draw for a study without runs)."""
    launch, metric = report.launch, report.metric
    made = [
        (
            "learning_curves.png",
            "Learning curves",
            f"Validation (solid) and training (dashed) accuracy per epoch; line: mean over seeds, band: "
            f"min–max over seeds; dotted grey: the {launch.reference_arm} arm's validation mean.",
            figures.learning_curves(report.curves, launch.arms, launch.reference_arm),
        ),
        (
            "effect.png",
            "Effect vs reference",
            f"Δ {metric.label} vs {_compared_with(report)} with its 95% confidence interval; green: "
            "better, red: worse (Holm-adjusted), grey: equivalent, inconclusive or untested.",
            figures.effect_plot(report.table, metric.label, metric.delta_unit, launch.reference_arm),
        ),
        (
            "seeds.png",
            "Seeds per arm",
            f"{metric.label} of every finished run, one dot per seed; bar: the arm mean.",
            figures.seed_strip(report.runs, launch.arms, metric.label),
        ),
    ]
    if launch.design == "ladder":
        made.append(
            (
                "path.png",
                "Ablation path",
                f"{metric.label} along the ladder, one step per change; dots: seeds, line: the means.",
                design_figures.path_plot(report.runs, launch.arms, metric.label),
            )
        )
    if report.path is not None:
        made.append(
            (
                "path.png",
                "Ablation path",
                f"{metric.label} of each step's choice (dots: seeds, line: means) and of its runner-ups "
                "(grey; x: dropped by the race as worse than the best).",
                path_alternatives_plot(report.path, report.runs, metric.label),
            )
        )
    if launch.design == "factorial":
        made.append(
            (
                "interactions.png",
                "Interactions",
                f"Mean {metric.label} per level of one factor, one line per level of another.",
                design_figures.interaction_plot(report.runs, report.factorial, metric.label),
            )
        )
    if launch.design == "fractional":
        made.append(
            (
                "main_effects.png",
                "Main effects",
                f"Mean {metric.label} at each factor's baseline option and alternative, over the arms of "
                "the fraction (seeds that ran every arm); green: better, red: worse (Holm), grey: neither.",
                screening_figures.main_effects_plot(report.runs, report.screening, launch.plan, metric.label),
            )
        )
    return [Picture(name, title, caption, _png(figure)) for name, title, caption, figure in made if figure]


def _compared_with(report: Report) -> str:
    stepwise = report.baseline_table is not None or report.path is not None
    return "the previous step" if stepwise else report.launch.reference_arm


def _png(figure: Figure) -> bytes:
    buffer = io.BytesIO()
    figure.savefig(buffer, format="png", dpi=110)
    plt.close(figure)
    return buffer.getvalue()


def _new_folder(out_root: Path, study: str, created: datetime) -> Path:
    """``out_root/<study>/<YYYYmmdd-HHMMSS>``; a second report in the same second gets ``-2``."""
    safe = re.sub(r"[^A-Za-z0-9._-]+", "_", study).strip("._") or "study"
    base = out_root / safe / f"{created:%Y%m%d-%H%M%S}"
    folder, number = base, 1
    while True:
        try:
            folder.mkdir(parents=True)
            return folder
        except FileExistsError:
            number += 1
            folder = base.with_name(f"{base.name}-{number}")
