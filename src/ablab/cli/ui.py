"""``ablab-ui``: the MLflow UI on a store, on loopback, opened on the runs of an experiment.

``mlflow ui`` alone lands on MLflow 3's GenAI start page and starts a job runner with its own
worker processes; ablab runs need neither, so this starts ``mlflow server`` with one worker and
job execution off, and prints the URL of the runs view.
"""

from __future__ import annotations

import argparse
import os
import signal
import subprocess
import sys
import time
import urllib.request
import webbrowser
from pathlib import Path
from urllib.error import URLError

from ablab.tracking.ui_links import runs_url

HOST = "127.0.0.1"
DEFAULT_PORT = 5000
def server_command(tracking_uri: str, port: int) -> list[str]:
    return [
        sys.executable, "-m", "mlflow", "server",
        "--backend-store-uri", tracking_uri,
        "--host", HOST, "--port", str(port), "--workers", "1",
    ]  # fmt: skip


def start_server(tracking_uri: str, port: int) -> subprocess.Popen:
    """``mlflow server`` on loopback with job execution off (no job-runner processes)."""
    env = {**os.environ, "MLFLOW_SERVER_ENABLE_JOB_EXECUTION": "false"}
    return subprocess.Popen(server_command(tracking_uri, port), env=env)


def wait_until_serving(base: str, server: subprocess.Popen, timeout_s: float = 120.0) -> None:
    """Return once ``/health`` answers; raise if the server exits or never answers."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        if server.poll() is not None:
            raise RuntimeError(f"mlflow server exited with code {server.returncode} (see its output above)")
        try:
            with urllib.request.urlopen(f"{base}/health", timeout=2) as answer:
                if answer.status == 200:
                    return
        except (URLError, OSError):
            time.sleep(0.5)
    raise RuntimeError(f"mlflow server did not answer at {base} within {timeout_s:.0f} s")


def experiment_id(tracking_uri: str, name: str | None) -> str | None:
    if name is None:
        return None
    from mlflow.tracking import MlflowClient

    experiment = MlflowClient(tracking_uri).get_experiment_by_name(name)
    if experiment is None:
        raise SystemExit(
            f"ablab-ui: --experiment {name!r} is not in {tracking_uri}; leave it out to list them all."
        )
    return experiment.experiment_id


def _has_display() -> bool:
    """A graphical browser can open: on a headless machine ``webbrowser`` could start a text
    browser in this terminal instead."""
    graphical = os.environ.get("DISPLAY") or os.environ.get("WAYLAND_DISPLAY")
    return sys.platform in ("darwin", "win32") or bool(graphical)


def parser() -> argparse.ArgumentParser:
    p = argparse.ArgumentParser(
        prog="ablab-ui",
        description="Open an MLflow store in the MLflow UI on the runs view (127.0.0.1, one worker, "
        "job execution off). Stop it with Ctrl-C.",
    )
    p.add_argument("--tracking-uri", help="MLflow store; default: $MLFLOW_TRACKING_URI, else ./mlflow.db")
    p.add_argument("--experiment", help="open on this experiment's runs (a study's name); default: all")
    p.add_argument("--port", type=int, default=DEFAULT_PORT, help=f"default {DEFAULT_PORT}")
    p.add_argument(
        "--no-browser", action="store_true", help="print the URL only (default: open it too, given a display)"
    )
    return p


def main(argv: list[str] | None = None) -> None:
    args = parser().parse_args(argv)  # before the imports: --help answers at once
    from ablab.study.bookkeeping import store_exists
    from ablab.tracking.client import resolve_tracking_uri

    tracking_uri = resolve_tracking_uri(args.tracking_uri, Path.cwd())
    if tracking_uri.startswith(("http://", "https://")):
        raise SystemExit(f"ablab-ui: {tracking_uri} is a tracking server: open {runs_url(tracking_uri)}")
    if not store_exists(tracking_uri):
        raise SystemExit(f"ablab-ui: no MLflow store at {tracking_uri}; train a run or pass --tracking-uri.")
    url = runs_url(f"http://{HOST}:{args.port}", experiment_id(tracking_uri, args.experiment))
    server = start_server(tracking_uri, args.port)
    signal.signal(signal.SIGTERM, lambda *_: sys.exit(0))  # stop the server on SIGTERM too
    try:
        wait_until_serving(f"http://{HOST}:{args.port}", server)
        print(f"MLflow UI on {tracking_uri}:\n  {url}\n(Ctrl-C stops it)", flush=True)
        if not args.no_browser and _has_display():
            webbrowser.open(url)
        server.wait()
    except KeyboardInterrupt:
        pass
    except RuntimeError as error:
        raise SystemExit(f"ablab-ui: {error}") from error
    finally:
        server.terminate()
        server.wait(timeout=30)
