"""Owner tags, heartbeats and the reaper: a run whose owner died ends KILLED, a live one is left alone."""

from __future__ import annotations

import os
import signal
import socket
import subprocess
import sys
import time

import pytest
from mlflow.tracking import MlflowClient

from ablab.tracking.client import ensure_experiment, fail_run, start_run
from ablab.tracking.liveness import HEARTBEAT_ENV, Heartbeat, owner_gone, owner_tags
from ablab.tracking.stale_runs import describe, reap_stale_runs
from ablab.tracking.tags import HEARTBEAT_AT, KILLED_REASON, OWNER_HOST, OWNER_PID, OWNER_PID_START

# A process that opens a run the way both engines do, says so, then waits to be killed.
OWNER = """
import sys, time
from mlflow.tracking import MlflowClient
from ablab.tracking.client import ensure_experiment, start_run
client = MlflowClient(sys.argv[1])
recorder = start_run(client, ensure_experiment(client, "zombies"), "doomed", {})
print(recorder.run_id, flush=True)
time.sleep(600)
"""


def test_a_run_names_its_owner_and_starts_with_a_heartbeat(store):
    client = MlflowClient(store)
    recorder = start_run(client, ensure_experiment(client, "e"), "a run", {})
    tags = client.get_run(recorder.run_id).data.tags
    assert tags[OWNER_HOST] == socket.gethostname() and tags[OWNER_PID] == str(os.getpid())
    assert abs(int(tags[HEARTBEAT_AT]) - time.time()) < 60
    assert not owner_gone(tags)
    fail_run(recorder, RuntimeError("done with it"))


def test_kill_9_of_the_owner_leaves_a_zombie_the_reaper_marks_killed(store):
    owner = subprocess.Popen(
        [sys.executable, "-c", OWNER, store], stdout=subprocess.PIPE, text=True, env=os.environ
    )
    zombie = owner.stdout.readline().strip()
    client = MlflowClient(store)
    experiment_id = client.get_run(zombie).info.experiment_id
    mine = start_run(client, experiment_id, "alive", {})
    assert reap_stale_runs(client, [experiment_id]) == []  # its owner is alive

    owner.send_signal(signal.SIGKILL)
    owner.wait()
    assert client.get_run(zombie).info.status == "RUNNING"  # nobody could end it
    (reaped,) = reap_stale_runs(client, [experiment_id])
    assert reaped.run_id == zombie and f"owner process {owner.pid}" in reaped.reason
    run = client.get_run(zombie)
    assert run.info.status == "KILLED" and "is gone" in run.data.tags[KILLED_REASON]
    assert client.get_run(mine.run_id).info.status == "RUNNING"  # this process still owns it
    assert "1 stale run(s)" in describe([reaped]) and zombie in describe([reaped])
    fail_run(mine, RuntimeError("end of test"))


def test_a_silent_run_of_another_host_is_stale_after_the_threshold(store, monkeypatch):
    client = MlflowClient(store)
    experiment_id = ensure_experiment(client, "remote")
    elsewhere = {**owner_tags(), OWNER_HOST: "another-host", OWNER_PID: "1"}
    fresh = client.create_run(experiment_id, tags=elsewhere).info.run_id
    silent = client.create_run(
        experiment_id, tags={**elsewhere, HEARTBEAT_AT: str(int(time.time()) - 120)}
    ).info.run_id
    assert reap_stale_runs(client, [experiment_id], stale_s=300) == []
    (reaped,) = reap_stale_runs(client, [experiment_id], stale_s=60)
    assert reaped.run_id == silent and "no heartbeat for 12" in reaped.reason
    assert client.get_run(fresh).info.status == "RUNNING"
    monkeypatch.setenv("ABLAB_STALE_AFTER_S", "0")  # the documented knob; 0 s: any silence is death
    time.sleep(1.1)
    assert [r.run_id for r in reap_stale_runs(client, [experiment_id])] == [fresh]


def test_the_heartbeat_thread_refreshes_open_runs_only(store, monkeypatch):
    monkeypatch.setenv(HEARTBEAT_ENV, "0.2")
    client = MlflowClient(store)
    experiment_id = ensure_experiment(client, "beats")
    old = str(int(time.time()) - 100)
    open_run = client.create_run(experiment_id, tags={HEARTBEAT_AT: old}).info.run_id
    closed_run = client.create_run(experiment_id, tags={HEARTBEAT_AT: old}).info.run_id
    heartbeat = Heartbeat()
    heartbeat.add(client, open_run)
    heartbeat.add(client, closed_run)
    heartbeat.remove(closed_run)
    deadline = time.monotonic() + 10
    while client.get_run(open_run).data.tags[HEARTBEAT_AT] == old and time.monotonic() < deadline:
        time.sleep(0.1)
    assert int(client.get_run(open_run).data.tags[HEARTBEAT_AT]) >= time.time() - 5
    assert client.get_run(closed_run).data.tags[HEARTBEAT_AT] == old
    heartbeat.abandon("test over")
    run = client.get_run(open_run)
    assert run.info.status == "KILLED" and run.data.tags[KILLED_REASON] == "test over"


@pytest.mark.parametrize("state", ["reused", "other host", "garbage"])
def test_owner_is_only_declared_gone_when_it_is_sure(state):
    tags = owner_tags()
    if state == "reused":  # this pid, but started at another time: not the owner any more
        tags[OWNER_PID_START] = "1"
        assert owner_gone(tags)
    elif state == "other host":
        tags[OWNER_HOST] = "another-host"
        tags[OWNER_PID] = "999999999"
        assert not owner_gone(tags)
    else:
        tags[OWNER_PID] = "not a pid"
        assert not owner_gone(tags)
