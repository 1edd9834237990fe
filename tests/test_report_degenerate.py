"""Degenerate arms in the report: a baseline stuck at chance with the same score on every seed.

A synthetic study in a real temporary MLflow store whose runs log what a real run logs for its
classes (the ``dataset.task`` param, the dataset inputs with the one-hot targets' shape). The
warnings, the blanked cells and the statistics are checked against values computed here.
"""

from __future__ import annotations

import math
from pathlib import Path

import mlflow.data
import numpy as np
import pandas as pd
import pytest
from mlflow.data.code_dataset_source import CodeDatasetSource
from mlflow.entities import Dataset, DatasetInput, InputTag
from mlflow.tracking import MlflowClient
from scipy.stats import t as student_t

from ablab.cli.report import main
from ablab.report import make_report
from ablab.report.classes import class_counts
from ablab.report.read import runs_frame
from test_report_synthetic import Job, StudyWriter, new_store

BASELINE = {0: 0.10, 1: 0.10, 2: 0.10}  # stuck at 1/10 on every seed
RELU = {0: 0.78, 1: 0.80, 2: 0.795}
HE_NORMAL = {0: 0.15, 1: 0.25, 2: 0.20}  # differences 0.05, 0.15, 0.10: not significant
ARMS = {
    "baseline": ({}, BASELINE),
    "activation=relu": ({"activation": ["sigmoid", "relu"]}, RELU),
    "initializer=he_normal": ({"initializer": ["random_uniform", "he_normal"]}, HE_NORMAL),
}


def log_classes(client: MlflowClient, run_id: str, task: str, width: int) -> None:
    """What a real run logs about its data (ablab.tracking.record): the task and its splits."""
    client.log_param(run_id, "dataset.task", task)
    targets = np.eye(max(width, 2), dtype=np.float32)[[0, 1, 1, 0]][:, :width]
    dataset = mlflow.data.from_numpy(
        np.zeros((4, 3), np.float32), targets=targets, name="mnist_5k", source=CodeDatasetSource({})
    )
    tags = [InputTag("mlflow.data.context", "train")]
    client.log_inputs(run_id, [DatasetInput(Dataset(**dataset.to_dict()), tags=tags)])


def write_stuck_study(uri: str, artifacts: Path, name: str = "stuck", classes: int | None = 10) -> str:
    """Three arms x three seeds; ``classes``: the runs log a 10-class task (None: nothing about it)."""
    writer = StudyWriter(uri, name, artifacts)
    jobs = [Job(arm, seed, changed) for arm, (changed, _) in ARMS.items() for seed in (0, 1, 2)]
    parent = writer.launch(jobs)
    for job in jobs:
        value = ARMS[job.arm][1][job.seed]
        val_curve = [value] * 4 if job.arm == "baseline" else [value * e / 4 for e in range(1, 5)]
        run_id = writer.child(
            parent, job, {"test_accuracy": value}, {"val_accuracy": val_curve, "accuracy": val_curve}
        )
        if classes:
            log_classes(writer.client, run_id, "classification", classes)
    return parent


@pytest.fixture(scope="module")
def stuck(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("stuck")
    uri = new_store(tmp)
    write_stuck_study(uri, tmp / "artifacts")
    return make_report(uri, study="stuck", out_root=tmp / "reports")


def paired(arm: dict[int, float], reference: dict[int, float]) -> tuple[float, float, float, float]:
    """Δ (pp), its 95% CI and the two-sided p of a paired t-test, written out."""
    d = np.array([arm[s] - reference[s] for s in sorted(arm)])
    n, mean, sd = len(d), d.mean(), d.std(ddof=1)
    half = student_t.ppf(0.975, n - 1) * sd / math.sqrt(n)
    p = 2 * student_t.sf(abs(mean) / (sd / math.sqrt(n)), n - 1)
    return 100 * mean, 100 * (mean - half), 100 * (mean + half), p


def test_the_class_count_is_read_from_what_runs_log(tmp_path: Path) -> None:
    uri = new_store(tmp_path)
    write_stuck_study(uri, tmp_path / "artifacts")
    client = MlflowClient(uri)
    runs = runs_frame(client.search_runs([client.get_experiment_by_name("stuck").experiment_id]))
    runs = runs.assign(arm=runs["tags.ablab.arm"]).dropna(subset=["arm"])
    assert class_counts(client, runs) == {arm: 10 for arm in ARMS}
    binary = runs.assign(**{"params.dataset.task": "binary"})
    assert set(class_counts(client, binary).values()) == {2}
    regression = runs.assign(**{"params.dataset.task": "regression"})
    assert class_counts(client, regression) == {}


def test_a_baseline_at_chance_with_zero_spread_is_named_in_words(stuck: Path) -> None:
    markdown = (stuck / "report.md").read_text()
    assert (
        "Warning: arm baseline is degenerate: its test\\_accuracy is at chance level for 10 classes "
        "(0.1000; 1/10 = 0.1000) and identical on every seed (sd 0)."
    ) in markdown
    assert "a Δ against it measures the distance from chance" in markdown
    assert "Warning: arm activation=relu" not in markdown  # a working arm is not flagged
    page = (stuck / "report.html").read_text()
    assert "Warning: arm baseline is degenerate" in page
    table = pd.read_csv(stuck / "table.csv").set_index("arm")
    assert table.loc["baseline", "degenerate"].startswith("at chance level for 10 classes")
    assert table["degenerate"].isna().sum() == 2


def test_no_effect_size_against_a_zero_spread_arm_but_the_tests_stand(stuck: Path) -> None:
    table = pd.read_csv(stuck / "table.csv").set_index("arm")
    for arm, values in (("activation=relu", RELU), ("initializer=he_normal", HE_NORMAL)):
        row = table.loc[arm]
        assert math.isnan(row["effect_size"])  # today: d_z = Δ / sd(arm), +66.5 for relu
        expected = paired(values, BASELINE)
        assert (row["delta"], row["ci_low"], row["ci_high"], row["p_value"]) == pytest.approx(expected)
    assert list(table["verdict"]) == ["reference", "better", "inconclusive"]
    markdown = (stuck / "report.md").read_text()
    details = [line for line in markdown.splitlines() if line.startswith("| activation=relu | baseline |")]
    assert len(details) == 1 and "– (sd 0, see note) |" in details[0]
    assert "Effect size '– (sd 0)': baseline scored the same on every seed" in markdown


def test_a_flat_curve_at_chance_gets_no_epoch_to_90_percent(stuck: Path) -> None:
    markdown = (stuck / "report.md").read_text()
    headers = next(line for line in markdown.splitlines() if line.startswith("| arm | changed |"))
    cells = [cell.strip() for cell in headers.strip("|").split("|")]
    assert cells[-3:] == ["best val acc", "epoch to 90% of best", "mean val accuracy (curve area)"]
    assert "val AUC" not in markdown and "(not a ROC AUC)" in markdown
    base = next(line for line in markdown.splitlines() if line.startswith("| baseline (reference) |"))
    base_cells = [cell.strip() for cell in base.strip("|").split("|")]
    assert base_cells[-3:] == ["0.1000", "–", "0.1000"]  # today: epoch 1, the "fastest"
    relu = next(line for line in markdown.splitlines() if line.startswith("| activation=relu |"))
    # A straight rise reaches 90% of its best at the last epoch.
    assert [cell.strip() for cell in relu.strip("|").split("|")][-2] == "4"


def test_seeds_for_margin_is_explained_where_it_appears(stuck: Path) -> None:
    markdown = (stuck / "report.md").read_text()
    assert "| seeds for margin |" in markdown
    assert (
        "Seeds for margin: how many seeds per arm a two-sided t-test at α = 0.05 would need to detect a "
        "true difference as small as the margin (±1 pp) with 80% power"
    ) in markdown
    assert "an arm already 'better' or 'worse' needs no more seeds to show that" in markdown


def test_without_a_known_class_count_only_the_zero_spread_is_reported(tmp_path: Path) -> None:
    uri = new_store(tmp_path)
    write_stuck_study(uri, tmp_path / "artifacts", classes=None)
    folder = make_report(uri, study="stuck", out_root=tmp_path / "reports")
    markdown = (folder / "report.md").read_text()
    warning = "Warning: arm baseline is degenerate: its test\\_accuracy is identical on every seed (sd 0)."
    assert warning in markdown
    assert "chance level" not in markdown
    base = next(line for line in markdown.splitlines() if line.startswith("| baseline (reference) |"))
    assert [cell.strip() for cell in base.strip("|").split("|")][-2] == "1"  # not known to be at chance


def test_ablab_report_prints_the_warning_under_its_table(tmp_path: Path, capsys) -> None:
    uri = new_store(tmp_path)
    write_stuck_study(uri, tmp_path / "artifacts")
    main(["stuck", "--tracking-uri", uri, "--out", str(tmp_path / "reports"), "--no-log"])
    out = capsys.readouterr().out
    table_end = out.index("initializer=he_normal  initializer: random_uniform")
    assert table_end < out.index("Warning: arm baseline is degenerate: its test_accuracy is at chance level")
