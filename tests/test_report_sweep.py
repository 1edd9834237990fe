"""ablab-report --sweep: a plain Hydra multirun (no study sweeper) in a real temporary store, grouped
by its swept keys with seeds as replicates; numbers checked by hand."""

from __future__ import annotations

import math
import subprocess
import sys
from pathlib import Path

import numpy as np
import pandas as pd
import pytest
from mlflow.entities import Metric
from mlflow.tracking import MlflowClient
from scipy.stats import t as student_t

from ablab.errors import StudyNotFound
from ablab.report import make_report
from ablab.tracking.tags import ARM, HYDRA_OVERRIDES
from test_report_synthetic import new_store

VALUES = {  # (activation, seed) -> test_accuracy
    ("sigmoid", 0): 0.20, ("sigmoid", 1): 0.23, ("sigmoid", 2): 0.21,
    ("relu", 0): 0.90, ("relu", 1): 0.92, ("relu", 2): 0.93,
}  # fmt: skip


def _plain_sweep(tmp_path: Path) -> str:
    uri = new_store(tmp_path)
    client = MlflowClient(uri)
    experiment = client.create_experiment("ablab", artifact_location=(tmp_path / "artifacts").as_uri())
    clock = 1_700_000_000_000

    def run(overrides: str, value: float, status: str = "FINISHED", tags: dict | None = None) -> None:
        nonlocal clock
        clock += 1000
        tags = {HYDRA_OVERRIDES: overrides, **(tags or {})}
        run_id = client.create_run(experiment, start_time=clock, tags=tags).info.run_id
        client.log_batch(run_id, metrics=[Metric("test_accuracy", value, 0, 0)])
        client.set_terminated(run_id, status)

    run("activation=relu trainer.epochs=5 trainer.seed=0", 0.10)  # superseded by the newer run below
    for (activation, seed), value in VALUES.items():
        run(f"activation={activation} trainer.epochs=5 trainer.seed={seed}", value)
    run("activation=relu trainer.epochs=5 trainer.seed=3", 0.99, status="FAILED")
    run("activation=relu trainer.epochs=5 trainer.seed=4", 0.5, tags={ARM: "a study's run"})
    return uri


def test_a_plain_sweep_is_grouped_by_its_swept_keys_with_seeds_as_replicates(tmp_path: Path) -> None:
    uri = _plain_sweep(tmp_path)
    folder = make_report(uri, sweep="ablab", reference="activation=sigmoid", out_root=tmp_path / "reports")
    table = pd.read_csv(folder / "table.csv").set_index("arm")
    assert list(table.index) == ["activation=sigmoid", "activation=relu"]
    assert list(table["n_finished"]) == [3, 3]  # the FAILED run and the study's run stay out
    relu = table.loc["activation=relu"]
    d = np.array([VALUES[("relu", s)] - VALUES[("sigmoid", s)] for s in range(3)])
    t = d.mean() / (d.std(ddof=1) / math.sqrt(3))
    assert relu["delta"] == pytest.approx(100 * d.mean()) and relu["test"] == "paired t-test"
    assert relu["p_value"] == pytest.approx(2 * student_t.sf(t, 2))
    assert relu["verdict"] == "better"
    markdown = (folder / "report.md").read_text()
    assert "swept keys activation" in markdown and "trainer.seed values are replicates" in markdown


def test_a_reference_that_is_not_an_arm_is_refused_with_the_arms(tmp_path: Path) -> None:
    uri = _plain_sweep(tmp_path)
    with pytest.raises(StudyNotFound, match="arms: activation=relu, activation=sigmoid"):
        make_report(uri, sweep="ablab", reference="activation=tanh", out_root=tmp_path / "reports")
    command = [sys.executable, "-m", "ablab.cli.report", "--sweep", "nope", "--tracking-uri", uri]
    cli = subprocess.run([*command, "--out", str(tmp_path)], capture_output=True, text=True)
    assert cli.returncode == 2 and "no experiment named 'nope'" in cli.stderr
