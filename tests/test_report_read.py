"""Reading a study launch from a real MLflow store: every run (past 1,000), the right run per job."""

from __future__ import annotations

import os
import shutil
import tempfile
import time
from pathlib import Path

import pytest

from ablab.report.launch_record import load_launch
from ablab.report.read import cast_param, search_all_runs
from ablab.tracking.tags import PARENT_RUN_ID, RUN_KEY, tag_column
from test_report_synthetic import BASELINE, HE_NORMAL, Job, StudyWriter, new_store, write_demo


@pytest.fixture(scope="module")
def demo(tmp_path_factory: pytest.TempPathFactory):
    tmp = tmp_path_factory.mktemp("demo")
    return write_demo(new_store(tmp), tmp / "artifacts")


def test_newest_finished_run_per_planned_key_whoever_its_parent(demo) -> None:
    launch = load_launch(demo.writer.client, demo.writer.client.get_run(demo.parent))
    finished = launch.finished.set_index(["arm", "seed"])
    assert len(finished) == 9
    assert finished["status"].eq("FINISHED").all()
    # Skipped by the latest launch: the FINISHED run of the older launch answers the job.
    assert finished.loc[("baseline", 0), tag_column(PARENT_RUN_ID)] == demo.old_parent
    assert finished.loc[("baseline", 0), "metrics.test_accuracy"] == BASELINE[0]
    # Two FINISHED runs for one key: the newer one (0.40), not the older (0.10).
    assert finished.loc[("initializer=he_normal", 0), "metrics.test_accuracy"] == HE_NORMAL[0]
    assert not set(finished["run_id"]) & {demo.parent, demo.old_parent}
    assert "key:stale" not in set(finished["run_key"])
    assert launch.arms == ["baseline", "initializer=he_normal", "activation=relu", "optimizer=adam"]
    assert (launch.study, launch.design, launch.reference_arm) == ("demo", "ofat", "baseline")


def test_failed_killed_and_missing_jobs_are_listed_not_read(demo) -> None:
    launch = load_launch(demo.writer.client, demo.writer.client.get_run(demo.parent))
    unfinished = launch.unfinished.set_index(["arm", "seed"])
    assert sorted(unfinished.index) == [("activation=relu", 2), ("optimizer=adam", 1), ("optimizer=adam", 2)]
    relu = unfinished.loc[("activation=relu", 2)]
    assert (relu["status"], relu["diverged"], relu["attempts"]) == ("FAILED", True, 2)
    assert "nan" in relu["error"]
    assert unfinished.loc[("optimizer=adam", 1), "status"] == "KILLED"
    assert unfinished.loc[("optimizer=adam", 2), "status"] == "not run"
    assert 0.99 not in set(launch.finished["metrics.test_accuracy"])  # the diverged run's value


def test_params_come_back_with_their_types(demo) -> None:
    launch = load_launch(demo.writer.client, demo.writer.client.get_run(demo.parent))
    run = launch.finished.iloc[0]
    assert run["params.optimizer.learning_rate"] == 0.001
    assert run["params.trainer.epochs"] == 4 and isinstance(run["params.trainer.epochs"], int)
    assert run["params.model.hidden_units"] == [50, 50, 50, 50]
    assert run["params.trainer.shuffle"] is True
    assert run["params.tracking.parent_run_id"] is None
    assert run["params.optimizer.name"] == "sgd"


@pytest.mark.parametrize(
    ("text", "value"),
    [("0.001", 0.001), ("100", 100), ("[50, 50]", [50, 50]), ("None", None), ("False", False),
     ("he_normal", "he_normal"), ("1e-3", 0.001), ("a b", "a b"), ("{'x': 1}", {"x": 1})],
)  # fmt: skip
def test_cast_param(text: str, value: object) -> None:
    assert cast_param(text) == value


def test_launch_without_plan_is_rebuilt_from_its_children(tmp_path: Path) -> None:
    writer = StudyWriter(new_store(tmp_path), "noplan", tmp_path / "artifacts")
    jobs = [Job("baseline", 0), Job("activation=relu", 0, {"activation": ["sigmoid", "relu"]})]
    parent = writer.launch(jobs, plan=False)
    for job in jobs:
        writer.child(parent, job, {"test_accuracy": 0.5})
    launch = load_launch(writer.client, writer.client.get_run(parent))
    assert launch.arms == ["baseline", "activation=relu"]
    assert launch.plan.set_index("arm").loc["activation=relu", "changed"] == {"activation": ["?", "relu"]}
    assert any("plan.json" in note for note in launch.notes)


def _fast_dir(tmp_path: Path) -> Path:
    """tmpfs when there is one: sqlite commits there skip the disk flush."""
    shm = Path("/dev/shm")
    if shm.is_dir() and os.access(shm, os.W_OK):
        return Path(tempfile.mkdtemp(dir=shm, prefix="ablab-report-test-"))
    return tmp_path


def test_more_than_1000_runs_are_all_read(tmp_path: Path) -> None:
    """The planned runs are the OLDEST of 1,007 runs: a reader that stops at the first page of
    1,000 (newest first) misses them. The 1,000 newer runs are other keys, still RUNNING."""
    folder = _fast_dir(tmp_path)
    try:
        writer = StudyWriter(new_store(folder), "big", folder / "artifacts")
        values = {("baseline", 0): 0.50, ("baseline", 1): 0.52, ("baseline", 2): 0.55,
                  ("wide", 0): 0.61, ("wide", 1): 0.60, ("wide", 2): 0.66}  # fmt: skip
        jobs = [Job(arm, seed) for arm, seed in values]
        parent = writer.launch(jobs)
        for job in jobs:
            writer.child(parent, job, {"test_accuracy": values[(job.arm, job.seed)]})
        started = time.perf_counter()
        for number in range(1000):  # one call per run: the cheapest way to have many
            tags = {PARENT_RUN_ID: parent, RUN_KEY: f"other:{number}"}
            writer.client.create_run(writer.experiment_id, start_time=writer._tick(), tags=tags)
        print(f"created 1,000 runs in {time.perf_counter() - started:.1f} s")

        runs = search_all_runs(writer.client, [writer.experiment_id])
        assert len({run.info.run_id for run in runs}) == len(runs) == 1 + 6 + 1000

        launch = load_launch(writer.client, writer.client.get_run(parent))
        assert len(launch.finished) == 6 and launch.unfinished.empty
        by_job = launch.finished.set_index(["arm", "seed"])["metrics.test_accuracy"].to_dict()
        assert by_job == values
    finally:
        if folder != tmp_path:
            shutil.rmtree(folder, ignore_errors=True)


def test_pages_are_followed_to_the_end(demo) -> None:
    client = demo.writer.client
    everything = search_all_runs(client, [demo.writer.experiment_id], page_size=1000)
    paged = search_all_runs(client, [demo.writer.experiment_id], page_size=3)
    assert len(everything) == 16
    assert sorted(run.info.run_id for run in paged) == sorted(run.info.run_id for run in everything)
