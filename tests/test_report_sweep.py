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
from ablab.tracking.tags import ARM, HYDRA_OVERRIDES, LAUNCH
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


def _sweeps_beside_single_runs(tmp_path: Path) -> str:
    """An experiment as a user leaves it: a single run, a multirun, then another single run."""
    uri = new_store(tmp_path)
    client = MlflowClient(uri)
    experiment = client.create_experiment("ablab", artifact_location=(tmp_path / "artifacts").as_uri())
    clock = 1_700_000_000_000

    def run(launch: str, overrides: str, value: float) -> None:
        nonlocal clock
        clock += 1000
        tags = {HYDRA_OVERRIDES: overrides, LAUNCH: launch}
        run_id = client.create_run(experiment, start_time=clock, tags=tags).info.run_id
        client.log_batch(run_id, metrics=[Metric("test_accuracy", value, 0, 0)])
        client.set_terminated(run_id, "FINISHED")

    run("aaaa1111", "model.hidden_units=[8]", 0.5)
    for (activation, seed), value in VALUES.items():
        run("bbbb2222", f"activation={activation} trainer.seed={seed}", value)
    run("cccc3333", "optimizer=adam", 0.7)
    return uri


def test_a_sweep_report_reads_the_latest_multirun_and_says_how_to_pick_another(tmp_path: Path) -> None:
    uri = _sweeps_beside_single_runs(tmp_path)
    folder = make_report(uri, sweep="ablab", reference="activation=sigmoid", out_root=tmp_path / "r")
    table = pd.read_csv(folder / "table.csv").set_index("arm")
    assert list(table.index) == ["activation=sigmoid", "activation=relu"]  # no "?" arms
    assert list(table["n_finished"]) == [3, 3]
    markdown = (folder / "report.md").read_text()
    assert "multirun bbbb2222 (6 runs" in markdown and "--sweep-id" in markdown

    alone = make_report(uri, sweep="ablab", sweep_id="cccc", out_root=tmp_path / "r")
    assert list(pd.read_csv(alone / "table.csv")["arm"]) == ["all runs"]


def test_a_bad_reference_or_sweep_id_says_which_multiruns_there_are(tmp_path: Path) -> None:
    uri = _sweeps_beside_single_runs(tmp_path)
    with pytest.raises(StudyNotFound) as raised:
        make_report(uri, sweep="ablab", reference="activation=tanh", out_root=tmp_path / "r")
    message = str(raised.value)
    assert "is not an arm of multirun bbbb2222 (6 runs" in message
    assert "its arms: activation=sigmoid, activation=relu" in message
    assert "--sweep-id ID" in message and "cccc3333 (1 run" in message and "aaaa1111 (1 run" in message
    with pytest.raises(StudyNotFound, match="--sweep-id 'zzz' matches none of the launches"):
        make_report(uri, sweep="ablab", sweep_id="zzz", out_root=tmp_path / "r")
    merged = make_report(uri, sweep="ablab", sweep_id="all", out_root=tmp_path / "r")
    assert len(pd.read_csv(merged / "table.csv")) > 2  # every plain run: the "?" arms of old


@pytest.mark.slow
def test_one_command_tags_its_runs_with_one_launch_even_in_joblib_workers(workdir) -> None:
    """Real runs: a single run, then a two-worker multirun; the report finds the multirun alone."""
    from conftest import TINY, all_runs, sqlite_uri

    train = [str(Path(sys.executable).with_name("ablab-train"))]
    subprocess.run([*train, *TINY, "dataset=digits"], cwd=workdir, check=True, capture_output=True)
    sweep = ["-m", *TINY, "dataset=digits", "activation=sigmoid,relu", "trainer.seed=0,1"]
    sweep.append("hydra/launcher=joblib")  # two worker processes: one launch id all the same
    subprocess.run([*train, *sweep], cwd=workdir, check=True, capture_output=True)
    launches = {r.info.run_id: r.data.tags[LAUNCH] for r in all_runs(sqlite_uri(workdir))}
    assert len(launches) == 5 and len(set(launches.values())) == 2
    folder = make_report(sqlite_uri(workdir), sweep="ablab", reference="activation=sigmoid", out_root=workdir)
    assert list(pd.read_csv(folder / "table.csv")["n_finished"]) == [2, 2]
