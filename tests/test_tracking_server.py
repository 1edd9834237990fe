"""scripts/mlflow-server for real: PostgreSQL + `mlflow server` on loopback, a study through it.

Needs PostgreSQL's server programs (`apt-get install postgresql`; .ci/run installs them). Without
them these tests skip, except in CI (CI=true), where a missing install is a failure.
"""

from __future__ import annotations

import glob
import os
import re
import secrets
import shutil
import socket
import subprocess
import sys
import tempfile
import urllib.error
import urllib.request
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ablab.tracking.client import search_all_runs
from ablab.tracking.tags import ARM, ROLE, RUN_KEY, SEED
from test_study_sweeper import ABLAB_TRAIN, write_conf

SCRIPT = Path(__file__).resolve().parents[1] / "scripts" / "mlflow-server"
ABLAB_REPORT = str(Path(sys.executable).with_name("ablab-report"))

pytestmark = pytest.mark.server


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def script(*args: str, env: dict | None = None, timeout: float = 240) -> subprocess.CompletedProcess:
    return subprocess.run(
        [sys.executable, str(SCRIPT), *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env={**os.environ, **(env or {})},
    )


def require_postgres() -> None:
    if shutil.which("pg_ctl") or glob.glob("/usr/lib/postgresql/*/bin/pg_ctl"):
        return
    reason = "PostgreSQL server programs not installed (apt-get install postgresql)"
    if os.environ.get("CI") == "true":
        pytest.fail(f"{reason}: .ci/run should have installed them")
    pytest.skip(reason)


def alive(pid: int) -> bool:
    """True for a running process (a zombie waiting for its parent counts as gone)."""
    try:
        return Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()[0] != "Z"
    except OSError:
        return False


@pytest.fixture(scope="module")
def mlflow_server():
    """A server with basic authentication on a free port, its state in a fresh folder; its admin
    account in this process' environment (as a user exports it); stopped (and checked gone) after."""
    require_postgres()
    # Not under pytest's tmp root: that is private to root (mode 700), and PostgreSQL runs as
    # the postgres user when the tests run as root.
    state = Path(tempfile.mkdtemp(prefix="ablab-mlflow-"))
    state.chmod(0o755)
    port = free_port()
    password = secrets.token_urlsafe()
    credentials = {"MLFLOW_TRACKING_USERNAME": "ablab-admin", "MLFLOW_TRACKING_PASSWORD": password}
    started = script("start", "--port", str(port), "--state-dir", str(state), "--auth", env=credentials)
    os.environ.update(credentials)
    try:
        assert started.returncode == 0, started.stdout + started.stderr
        uri = started.stdout.strip().splitlines()[-1]
        assert uri == f"http://127.0.0.1:{port}"
        mlflow_pid = int((state / "mlflow.pid").read_text())
        pg_pid = int((state / "pg" / "data" / "postmaster.pid").read_text().split()[0])
        yield {"uri": uri, "state": state, "port": port, "credentials": credentials}
    finally:
        for name in credentials:
            os.environ.pop(name, None)
        stopped = script("stop", "--state-dir", str(state), timeout=60)
        try:
            assert stopped.returncode == 0, stopped.stderr
            if started.returncode == 0:
                assert not alive(mlflow_pid) and not alive(pg_pid)
                assert script("status", "--state-dir", str(state)).returncode == 3
        finally:
            shutil.rmtree(state, ignore_errors=True)


def test_study_runs_on_the_server_and_reports_from_it(mlflow_server, tmp_path):
    uri = mlflow_server["uri"]
    assert "postgres: running" in script("status", "--state-dir", str(mlflow_server["state"])).stdout
    write_conf(tmp_path, launcher="joblib", factors="{activation: [relu]}")
    env = {k: v for k, v in os.environ.items() if k != "MLFLOW_TRACKING_URI"}
    result = subprocess.run(
        [ABLAB_TRAIN, f"--config-dir={tmp_path / 'conf'}", "study=tiny", "tracking=server",
         f"tracking.uri={uri}", "hydra.launcher.n_jobs=2", "hydra.sweeper.report=false",
         f"hydra.sweep.dir={tmp_path / 'multirun'}"],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=600,
    )  # fmt: skip
    assert result.returncode == 0, result.stderr[-3000:]
    assert "4 finished, 0 skipped" in result.stdout
    assert not (tmp_path / "mlflow.db").exists()  # nothing went to a local store

    client = MlflowClient(uri)
    experiment = client.get_experiment_by_name("tiny")
    runs = search_all_runs(client, [experiment.experiment_id])
    parents = [r for r in runs if r.data.tags.get(ROLE) == "study"]
    children = [r for r in runs if RUN_KEY in r.data.tags]
    assert len(parents) == 1 and parents[0].info.status == "FINISHED"
    assert len(children) == 4 and {c.info.status for c in children} == {"FINISHED"}
    assert sorted((c.data.tags[ARM], c.data.tags[SEED]) for c in children) == [
        ("activation=relu", "0"), ("activation=relu", "1"), ("baseline", "0"), ("baseline", "1"),
    ]  # fmt: skip
    for child in children:
        assert {"test_accuracy", "test_loss", "train_seconds"} <= child.data.metrics.keys()
        assert [m.step for m in client.get_metric_history(child.info.run_id, "val_accuracy")] == [1]
        assert child.data.tags["tracking.uri"] == uri
    # Artifacts go through the server into its state folder, not into the client's directory.
    artifacts = {a.path for a in client.list_artifacts(children[0].info.run_id)}
    assert {"config.yaml", "learning_curve.png"} <= artifacts
    assert not (tmp_path / "mlruns").exists()

    report = subprocess.run(
        [ABLAB_REPORT, "tiny", "--tracking-uri", uri, "--out", str(tmp_path / "reports")],
        cwd=tmp_path, env=env, capture_output=True, text=True, timeout=300,
    )  # fmt: skip
    assert report.returncode == 0, report.stderr[-3000:]
    assert len(list((tmp_path / "reports").glob("tiny/*/report.md"))) == 1
    assert "activation=relu" in report.stdout
    logged = {a.path for a in client.list_artifacts(parents[0].info.run_id)}
    assert "report" in logged  # and the report is logged to the study's parent run on the server


def test_the_server_refuses_requests_without_credentials_and_never_stores_them(mlflow_server, tmp_path):
    uri, password = mlflow_server["uri"], mlflow_server["credentials"]["MLFLOW_TRACKING_PASSWORD"]
    with pytest.raises(urllib.error.HTTPError) as refused:
        urllib.request.urlopen(f"{uri}/api/2.0/mlflow/experiments/search?max_results=1", timeout=10)
    assert refused.value.code == 401
    # ablab without the credentials: one clear paragraph, at once.
    env = {k: v for k, v in os.environ.items() if not k.startswith("MLFLOW_TRACKING_")}
    report = subprocess.run(
        [ABLAB_REPORT, "--tracking-uri", uri], cwd=tmp_path, env=env, capture_output=True, text=True
    )
    assert report.returncode == 2 and "MLFLOW_TRACKING_USERNAME" in report.stderr, report.stderr
    assert "Traceback" not in report.stderr
    # The password went through the environment only: in no file of the state folder, no log.
    for path in mlflow_server["state"].rglob("*"):
        if path.is_file() and not path.is_relative_to(mlflow_server["state"] / "pg"):
            assert password.encode() not in path.read_bytes(), path


def test_open_host_without_auth_is_refused(tmp_path):
    state = str(tmp_path / "s")
    result = script("start", "--host", "0.0.0.0", "--port", str(free_port()), "--state-dir", state)
    assert result.returncode == 1 and "add --auth" in result.stderr
    assert not (tmp_path / "s").exists()


def test_second_start_reports_the_running_server(mlflow_server):
    again = script("start", "--port", str(mlflow_server["port"]), "--state-dir", str(mlflow_server["state"]))
    assert again.returncode == 0 and "already running" in again.stdout
    assert again.stdout.strip().endswith(mlflow_server["uri"])


def test_port_in_use_is_refused_before_anything_starts(tmp_path):
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen()
        port = taken.getsockname()[1]
        result = script("start", "--port", str(port), "--state-dir", str(tmp_path / "state"))
    assert result.returncode == 1
    assert f"port {port} on 127.0.0.1 is already in use" in result.stderr and "--port" in result.stderr
    assert not (tmp_path / "state").exists()


def test_missing_postgres_names_the_package(tmp_path):
    state = str(tmp_path / "s")
    result = script("start", "--port", str(free_port()), "--state-dir", state, env={"PG_BIN": str(tmp_path)})
    assert result.returncode == 1
    assert "apt-get install postgresql" in result.stderr and "initdb" in result.stderr
    assert not (tmp_path / "s").exists()


def test_status_and_stop_of_a_server_never_started(tmp_path):
    status = script("status", "--state-dir", str(tmp_path))
    assert status.returncode == 3
    assert re.search(r"postgres: stopped\nmlflow server: stopped", status.stdout)
    assert script("stop", "--state-dir", str(tmp_path)).returncode == 0
