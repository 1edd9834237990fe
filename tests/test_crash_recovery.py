"""`kill -9` of a real study: no orphan workers, no zombie runs, and a report of one launch only."""

from __future__ import annotations

import os
import signal
import subprocess
import time
from pathlib import Path

import pytest

from ablab.report.launch_record import load_launch
from ablab.tracking.tags import KILLED_REASON
from test_report_synthetic import ARMS, Job, StudyWriter, new_store
from test_study_sweeper import ABLAB_TRAIN, ablab_train, client_for, study_runs, write_conf


def children_of(pid: int) -> list[int]:
    found = []
    for stat in Path("/proc").glob("[0-9]*/stat"):
        try:
            if int(stat.read_text().rsplit(")", 1)[1].split()[1]) == pid:
                found.append(int(stat.parent.name))
        except (OSError, ValueError, IndexError):
            continue
    return found


def alive(pid: int) -> bool:
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


def wait_for(condition, timeout: float, every: float = 0.5) -> bool:
    deadline = time.monotonic() + timeout
    while not condition():
        if time.monotonic() > deadline:
            return False
        time.sleep(every)
    return True


@pytest.mark.slow
def test_kill_9_of_a_study_launcher_leaves_no_orphans_and_no_zombies(tmp_path):
    write_conf(tmp_path, launcher="joblib")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    # Many epochs: the workers are surely training when the launcher is killed.
    args = ["study=tiny", "hydra.launcher.n_jobs=2", "trainer.epochs=500"]
    output = (tmp_path / "launcher.log").open("w")
    launcher = subprocess.Popen(
        [ABLAB_TRAIN, f"--config-dir={tmp_path / 'conf'}", *args, f"hydra.sweep.dir={tmp_path / 'm'}"],
        cwd=tmp_path,
        env=env,
        stdout=output,
        stderr=subprocess.STDOUT,
        start_new_session=True,
    )
    try:
        clients = []  # MlflowClient opens (creates, migrates) the store: only once the launcher made it

        def training() -> bool:
            if not clients and (tmp_path / "mlflow.db").exists():
                clients.append(client_for(tmp_path))
            if not clients or clients[0].get_experiment_by_name("tiny") is None:
                return False
            return any(c.info.status == "RUNNING" for c in study_runs(clients[0])[1])

        started = wait_for(training, timeout=240)
        assert started, f"the study never started a run: {(tmp_path / 'launcher.log').read_text()[-3000:]}"
        workers = children_of(launcher.pid)
        assert workers, "no worker processes"
        launcher.send_signal(signal.SIGKILL)  # as the OOM killer does
        launcher.wait()
        killed_at = time.monotonic()
        assert wait_for(lambda: not any(alive(pid) for pid in workers), timeout=30)
        assert time.monotonic() - killed_at < 15  # seconds, not the minutes loky takes alone
    finally:
        if alive(launcher.pid):  # the test failed before its kill: leave nothing behind
            os.killpg(launcher.pid, signal.SIGKILL)

    [client] = clients
    parents, children = study_runs(client)
    assert [p.info.status for p in parents] == ["RUNNING"]  # nobody could end it...
    # ...but the workers ended their own runs on their way out, saying why.
    ended = [c for c in children if c.info.status == "KILLED"]
    assert ended and all("launcher" in c.data.tags[KILLED_REASON] for c in ended)

    dry = ablab_train(tmp_path, "study=tiny", "trainer.epochs=500", "hydra.sweeper.dry_run=true")
    assert dry.returncode == 0, dry.stderr[-2000:]
    assert "stale run(s) left RUNNING by a launch that died were marked KILLED" in dry.stdout
    assert parents[0].info.run_id in dry.stdout
    parents, children = study_runs(client)
    assert all(r.info.status != "RUNNING" for r in parents + children)
    assert "is gone" in parents[0].data.tags[KILLED_REASON]


def test_a_report_on_a_dead_launch_lists_only_its_own_runs(tmp_path):
    """A zombie launch, then a relaunch that trains everything: the zombie's report is not the relaunch's."""
    writer = StudyWriter(new_store(tmp_path), "zombie", tmp_path / "artifacts")
    jobs = [Job(arm, seed, changed) for arm, changed in ARMS.items() for seed in (0, 1)]
    dead = writer.launch(jobs)
    before = writer.child(dead, jobs[0], {"test_accuracy": 0.5})  # finished before it died
    relaunch = writer.launch(jobs)
    later = [writer.child(relaunch, job, {"test_accuracy": 0.9}) for job in jobs[1:]]

    zombie = load_launch(writer.client, writer.client.get_run(dead))
    assert list(zombie.finished["run_id"]) == [before]
    assert len(zombie.unfinished) == len(jobs) - 1 and set(zombie.unfinished["status"]) == {"not run"}
    newest = load_launch(writer.client, writer.client.get_run(relaunch))
    assert set(newest.finished["run_id"]) == {before, *later}  # what it skipped, and its own
