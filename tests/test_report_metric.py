"""Choosing the compared metric: final metrics, last/best epoch of a curve, unknown names."""

from __future__ import annotations

from pathlib import Path

import pandas as pd
import pytest

from ablab.report import MetricNotFound, make_report
from ablab.report.launch_record import load_launch
from ablab.report.metric import choose_metric
from test_report_synthetic import Job, StudyWriter, new_store

CURVES = {  # (arm, seed): val_accuracy per epoch; best and last differ
    ("baseline", 0): [0.1, 0.8, 0.6],
    ("baseline", 1): [0.2, 0.7, 0.5],
    ("adam", 0): [0.3, 0.9, 0.9],
    ("adam", 1): [0.4, 0.95, 0.85],
}


@pytest.fixture(scope="module")
def study(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("metric")
    writer = StudyWriter(new_store(tmp), "curves", tmp / "artifacts")
    jobs = [
        Job(arm, seed, {} if arm == "baseline" else {"optimizer": ["sgd", "adam"]}) for arm, seed in CURVES
    ]
    parent = writer.launch(jobs)
    for job in jobs:
        val = CURVES[(job.arm, job.seed)]
        final = {"test_accuracy": val[-1], "test_loss": 1 - val[-1]}
        writer.child(parent, job, final, {"val_accuracy": val, "val_loss": [1 - v for v in val]})
    launch = load_launch(writer.client, writer.client.get_run(parent))
    return writer, launch, tmp


def _by_job(launch, values: pd.Series) -> dict:
    return dict(zip(zip(launch.finished["arm"], launch.finished["seed"], strict=True), values, strict=True))


def test_final_metric_is_read_as_logged(study) -> None:
    writer, launch, _ = study
    choice, values = choose_metric(writer.client, launch.finished, "test_accuracy")
    assert choice.epoch is None and choice.higher_is_better and choice.fraction
    assert _by_job(launch, values) == {job: curve[-1] for job, curve in CURVES.items()}


def test_per_epoch_metric_last_or_best_epoch(study) -> None:
    writer, launch, _ = study
    choice, last = choose_metric(writer.client, launch.finished, "val_accuracy")
    assert choice.epoch == "last" and choice.label == "val_accuracy (last epoch)"
    assert _by_job(launch, last) == {job: curve[-1] for job, curve in CURVES.items()}
    _, best = choose_metric(writer.client, launch.finished, "val_accuracy", "best")
    assert _by_job(launch, best) == {job: max(curve) for job, curve in CURVES.items()}
    loss_choice, best_loss = choose_metric(writer.client, launch.finished, "val_loss", "best")
    assert not loss_choice.higher_is_better  # a loss: best is the lowest
    assert _by_job(launch, best_loss) == pytest.approx({job: 1 - max(curve) for job, curve in CURVES.items()})


def test_unknown_metric_lists_the_logged_ones(study) -> None:
    writer, _, tmp = study
    with pytest.raises(MetricNotFound) as error:
        make_report(writer.client.tracking_uri, study="curves", metric="test_acc", out_root=tmp / "r")
    assert "'test_acc'" in str(error.value)
    assert "test_accuracy, test_loss, val_accuracy, val_loss" in str(error.value)
    assert not (tmp / "r").exists()  # nothing written for bad input


def test_best_epoch_of_a_final_metric_is_refused(study) -> None:
    writer, launch, _ = study
    with pytest.raises(MetricNotFound, match="once per run"):
        choose_metric(writer.client, launch.finished, "test_accuracy", "best")


def test_report_on_best_val_accuracy(study, tmp_path: Path) -> None:
    writer, _, _ = study
    folder = make_report(
        writer.client.tracking_uri, study="curves", metric="val_accuracy", epoch="best", out_root=tmp_path
    )
    table = pd.read_csv(folder / "table.csv").set_index("arm")
    assert table.loc["adam", "delta"] == pytest.approx(100 * ((0.9 - 0.8) + (0.95 - 0.7)) / 2)
    assert table.loc["adam", "metric"] == "val_accuracy (best epoch)"
    assert "val\\_accuracy \\(best epoch\\)" not in (folder / "report.md").read_text()
    assert "val\\_accuracy (best epoch) mean ± std" in (folder / "report.md").read_text()
