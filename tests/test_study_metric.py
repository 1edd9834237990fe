"""A study names the metric it compares and its direction; the report's verdicts follow them."""

from __future__ import annotations

import pandas as pd
import pytest
from omegaconf import open_dict

from ablab.errors import ConfigError
from ablab.report import make_report
from ablab.study.spec import read_study
from ablab.tracking.tags import ARM, DIRECTION, ENGINE, METRIC, ROLE, RUN_KEY
from conftest import all_runs, compose_run, run_cli, sqlite_uri
from test_report_synthetic import Job, StudyWriter, new_store

REGRESSION_STUDY = """\
# @package _global_
defaults:
  - override /hydra/sweeper: ablation
  - override /hydra/launcher: basic
  - override /dataset: diabetes
  - override /scaling: standardize
study:
  name: tabular
  design: ofat
  seeds: [0, 1]
  baseline: {optimizer: sgd}
  factors: {optimizer: [adam]}
trainer: {epochs: 2, verbose: 0, engine: fused}
model: {hidden_units: [8]}
hydra:
  mode: MULTIRUN
"""


def spec_of(overrides, **study):
    """The spec of a one-factor study (trainer.epochs: 1 vs 2) with ``study`` keys added."""
    cfg, _ = compose_run(overrides)
    with open_dict(cfg):
        cfg.study = {"name": "s", "design": "ofat", "seeds": [0], "factors": {"trainer.epochs": [2]}, **study}
    return read_study(cfg, lambda key: [], [])


def test_metric_and_direction_default_to_the_task():
    assert (spec_of([]).metric, spec_of([]).direction) == ("test_accuracy", "maximize")
    regression = spec_of(["dataset=diabetes"])
    assert (regression.metric, regression.direction) == ("test_mse", "minimize")
    assert spec_of(["dataset=diabetes"], metric="test_mae").direction == "minimize"


def test_a_metric_the_task_does_not_log_is_refused():
    expected = r"study.metric=.test_accuracy. is not a final metric of dataset.task=.regression.; allowed:"
    with pytest.raises(ConfigError, match=expected):
        spec_of(["dataset=diabetes"], metric="test_accuracy")
    with pytest.raises(ConfigError, match=r"study.direction='lower' .* allowed: maximize .*, minimize"):
        spec_of([], direction="lower")


def test_minimize_turns_a_lower_mse_into_better(tmp_path):
    """Synthetic runs: the arm's MSE is lower by 10, 11, 9 on the three seeds."""
    uri = new_store(tmp_path)
    writer = StudyWriter(uri, "mse", tmp_path / "artifacts")
    changed = {"optimizer": ["sgd", "adam"]}
    jobs = [Job("baseline", s) for s in range(3)] + [Job("optimizer=adam", s, changed) for s in range(3)]
    parent = writer.launch(jobs)
    writer.client.set_tag(parent, METRIC, "test_mse")
    writer.client.set_tag(parent, DIRECTION, "minimize")
    for job, mse in zip(jobs, [30.0, 31.0, 29.0, 20.0, 20.0, 20.0], strict=True):
        writer.child(parent, job, {"test_mse": mse})
    folder = make_report(uri, parent_run_id=parent, out_root=tmp_path / "reports", log_to_mlflow=False)
    table = pd.read_csv(folder / "table.csv").set_index("arm")
    assert table.loc["optimizer=adam", "mean"] == pytest.approx(20.0)
    assert table.loc["optimizer=adam", "delta"] == pytest.approx(-10.0)
    assert table.loc["optimizer=adam", "verdict"] == "better"  # lower is better: a negative delta wins
    assert "lower is better" in (folder / "report.md").read_text()


@pytest.mark.slow
def test_a_regression_study_compares_mse_and_says_lower_is_better(workdir, monkeypatch, capsys):
    (workdir / "conf" / "study").mkdir(parents=True)
    (workdir / "conf" / "study" / "tabular.yaml").write_text(REGRESSION_STUDY)
    assert run_cli(monkeypatch, "study=tabular", f"hydra.sweep.dir={workdir}/multirun") == 0
    runs = all_runs(sqlite_uri(workdir))
    (parent,) = [r for r in runs if r.data.tags.get(ROLE) == "study"]
    children = [r for r in runs if RUN_KEY in r.data.tags]
    assert (parent.data.tags[METRIC], parent.data.tags[DIRECTION]) == ("test_mse", "minimize")
    assert len(children) == 4 and all(r.info.status == "FINISHED" for r in children)
    assert all(r.data.tags[ENGINE] == "fused" for r in children)  # regression fuses too

    (folder,) = (workdir / "reports" / "tabular").iterdir()
    table = pd.read_csv(folder / "table.csv").set_index("arm")
    adam = [r.data.metrics["test_mse"] for r in children if r.data.tags[ARM] == "optimizer=adam"]
    assert table.loc["optimizer=adam", "mean"] == pytest.approx(sum(adam) / 2)
    report = (folder / "report.md").read_text()
    assert "test\\_mse" in report and "lower is better" in report  # markdown escapes the underscore
