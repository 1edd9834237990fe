"""``ablab-ui``: the MLflow UI on a real store, on loopback, opened on an experiment's runs."""

from __future__ import annotations

import json
import os
import select
import signal
import socket
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ablab.tracking.ui_links import open_command, runs_url

ABLAB_UI = str(Path(sys.executable).with_name("ablab-ui"))


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def read_until(process: subprocess.Popen, marker: str, timeout_s: float = 120) -> str:
    """stdout lines up to the one holding ``marker`` (the server prints its URL once it answers)."""
    seen = ""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline and process.poll() is None:
        ready, _, _ = select.select([process.stdout], [], [], 1.0)
        if ready:  # raw reads: a buffered readline could hold the marker back from select
            seen += os.read(process.stdout.fileno(), 65536).decode()
            if marker in seen:
                return seen
    raise AssertionError(f"no {marker!r} from ablab-ui within {timeout_s} s; got: {seen!r}")


def test_runs_url_opens_the_runs_view_not_the_genai_page():
    assert runs_url("http://127.0.0.1:5000", "3") == (
        "http://127.0.0.1:5000/#/experiments/3/runs?workflowType=machine_learning"
    )
    assert open_command("sqlite:////tmp/my store/mlflow.db", "seed", "3") == (
        "ablab-ui --tracking-uri 'sqlite:////tmp/my store/mlflow.db' --experiment seed"
    )
    assert open_command("http://host:5000", "seed", "3") == runs_url("http://host:5000", "3")


def test_missing_store_or_experiment_is_refused_before_a_server_starts(workdir):
    missing = subprocess.run([ABLAB_UI, "--no-browser"], capture_output=True, text=True, timeout=60)
    assert missing.returncode != 0 and "no MLflow store at sqlite:///" in missing.stderr
    assert not (workdir / "mlflow.db").exists()  # looking did not create one


@pytest.mark.slow
def test_serves_the_store_runs_on_loopback_and_stops(store):
    client = MlflowClient(store)
    experiment_id = client.create_experiment("seed")
    run = client.create_run(experiment_id, run_name="baseline seed=0")
    client.set_terminated(run.info.run_id)
    port = free_port()
    command = [ABLAB_UI, "--tracking-uri", store, "--experiment", "seed", "--port", str(port), "--no-browser"]
    process = subprocess.Popen(command, stdout=subprocess.PIPE)
    base = f"http://127.0.0.1:{port}"
    try:
        printed = read_until(process, "workflowType")
        assert f"{base}/#/experiments/{experiment_id}/runs?workflowType=machine_learning" in printed
        with urllib.request.urlopen(f"{base}/", timeout=10) as page:
            assert page.status == 200 and "<html" in page.read().decode().lower()
        request = urllib.request.Request(
            f"{base}/api/2.0/mlflow/runs/search",
            data=json.dumps({"experiment_ids": [experiment_id]}).encode(),
            headers={"Content-Type": "application/json"},
        )
        with urllib.request.urlopen(request, timeout=10) as answer:
            runs = json.load(answer)["runs"]
        assert [r["info"]["run_id"] for r in runs] == [run.info.run_id]
    finally:
        process.send_signal(signal.SIGTERM)
        process.wait(timeout=60)
    with pytest.raises(OSError):  # the server went with it: nothing listens on the port
        urllib.request.urlopen(f"{base}/health", timeout=5)
