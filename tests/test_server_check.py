"""An MLflow server that does not answer stops a run or a study in seconds, before any training."""

from __future__ import annotations

import socket
import threading
import time
from http.server import BaseHTTPRequestHandler, HTTPServer

import pytest

from ablab.errors import TrackingUnavailable
from ablab.tracking.server_check import WAIT_ENV, check_tracking_server
from conftest import compose_run, run_cli
from test_study_sweeper import write_conf


def closed_port() -> int:
    """A loopback port nothing listens on (bound, then released)."""
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


@pytest.fixture
def http_server():
    """A loopback HTTP server answering every GET with the status in ``status[0]``: /health with
    text, MLflow's REST API with JSON (``status[1]`` for the API only, when given)."""
    status = [200]

    class Handler(BaseHTTPRequestHandler):
        def do_GET(self):
            api = self.path.startswith("/api/")
            self.send_response(status[-1] if api else status[0])
            self.end_headers()
            self.wfile.write(b'{"experiments": []}' if api else b"OK")

        def log_message(self, *args):
            pass

    server = HTTPServer(("127.0.0.1", 0), Handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_port}", status
    server.shutdown()
    server.server_close()


def test_unreachable_server_fails_within_the_bound_naming_the_uri():
    uri = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    with pytest.raises(TrackingUnavailable) as raised:
        check_tracking_server(uri, "tracking.uri", wait_s=1.0)
    assert time.monotonic() - started < 3
    message = str(raised.value)
    assert uri in message and "tracking.uri" in message
    assert "scripts/mlflow-server start" in message and "tracking=sqlite" in message


def test_answering_server_passes_and_server_errors_do_not(http_server):
    uri, status = http_server
    check_tracking_server(uri)
    status[0] = 503
    with pytest.raises(TrackingUnavailable, match="HTTP 503"):
        check_tracking_server(uri, wait_s=0.5)


def test_a_server_that_is_not_mlflow_is_refused_at_once(http_server):
    uri, status = http_server
    status[:] = [200, 404]  # answers, but has no MLflow REST API (another web app, a wrong port)
    started = time.monotonic()
    with pytest.raises(TrackingUnavailable, match="not as an MLflow tracking server") as raised:
        check_tracking_server(uri, wait_s=30)
    assert time.monotonic() - started < 3 and "HTTP 404" in str(raised.value)
    status[:] = [200, 401]  # an MLflow server with authentication, asked without credentials
    with pytest.raises(TrackingUnavailable, match="MLFLOW_TRACKING_USERNAME"):
        check_tracking_server(uri, wait_s=30)


def test_non_http_stores_are_not_probed():
    check_tracking_server("sqlite:////nonexistent/mlflow.db", wait_s=0)
    check_tracking_server("postgresql://nobody@127.0.0.1:1/db", wait_s=0)


def test_server_group_defaults_to_loopback_and_follows_the_environment(monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    cfg, choices = compose_run(["tracking=server"])
    assert choices["tracking"] == "server" and cfg.tracking.uri == "http://127.0.0.1:5000"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "http://mlflow.example:8080")
    assert compose_run(["tracking=server"])[0].tracking.uri == "http://mlflow.example:8080"
    assert compose_run(["tracking=server", "tracking.uri=http://h:1"])[0].tracking.uri == "http://h:1"
    cfg, choices = compose_run()
    assert choices["tracking"] == "sqlite" and cfg.tracking.uri is None


@pytest.fixture
def short_wait(monkeypatch):
    monkeypatch.setenv(WAIT_ENV, "1")


def test_run_on_a_dead_server_exits_before_training(workdir, monkeypatch, capsys, short_wait):
    uri = f"http://127.0.0.1:{closed_port()}"
    started = time.monotonic()
    code = run_cli(monkeypatch, "tracking=server", f"tracking.uri={uri}", "trainer.epochs=1")
    assert code == 2
    assert f"{uri} (set by tracking.uri) is not reachable" in capsys.readouterr().err
    assert time.monotonic() - started < 30
    assert not (workdir / "mlflow.db").exists() and not (workdir / "mlruns").exists()


def test_environment_uri_is_named_as_the_source(workdir, monkeypatch, capsys, short_wait):
    uri = f"http://127.0.0.1:{closed_port()}"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", uri)
    assert run_cli(monkeypatch, "trainer.epochs=1") == 2
    assert f"{uri} (set by $MLFLOW_TRACKING_URI)" in capsys.readouterr().err


def test_multirun_and_study_on_a_dead_server_exit_before_planning(workdir, monkeypatch, capsys, short_wait):
    uri = f"http://127.0.0.1:{closed_port()}"
    sweep_dir = f"hydra.sweep.dir={workdir}/m"
    sweep = run_cli(monkeypatch, "-m", f"tracking.uri={uri}", "activation=relu,tanh", sweep_dir)
    assert sweep == 2 and uri in capsys.readouterr().err
    conf = write_conf(workdir, launcher="basic", factors="{activation: [relu]}")
    study = run_cli(monkeypatch, f"--config-dir={conf}", "study=tiny", f"tracking.uri={uri}")
    assert study == 2
    err = capsys.readouterr().err
    assert uri in err and "Nothing was trained or logged" in err
    assert not (workdir / "mlflow.db").exists()
