"""Where runs go, how the config becomes params, and that a run never stays RUNNING."""

from __future__ import annotations

import re
from pathlib import Path

import pytest
from mlflow.tracking import MlflowClient

from ablab.tracking.client import (
    config_entries,
    ensure_experiment,
    git_commit,
    resolve_tracking_uri,
)
from ablab.tracking.tags import ERROR, RUN_NAME
from conftest import all_runs, compose_run, recorded_run


def test_tracking_uri_config_key_then_environment_then_start_directory(tmp_path, monkeypatch):
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    assert resolve_tracking_uri(None, tmp_path) == f"sqlite:///{tmp_path.resolve()}/mlflow.db"
    monkeypatch.setenv("MLFLOW_TRACKING_URI", "sqlite:////from/env.db")
    assert resolve_tracking_uri(None, tmp_path) == "sqlite:////from/env.db"
    assert resolve_tracking_uri("sqlite:////from/config.db", tmp_path) == "sqlite:////from/config.db"


@pytest.mark.parametrize(
    ("written", "meant"),
    [
        ("sqlite:///~/stores/mlflow.db", "sqlite:///{home}/stores/mlflow.db"),
        ("file:~/mlruns", "file:{home}/mlruns"),
        ("~/mlruns", "{home}/mlruns"),
        ("http://127.0.0.1:5000", "http://127.0.0.1:5000"),
        ("sqlite:////abs/mlflow.db", "sqlite:////abs/mlflow.db"),
    ],
)
def test_a_tilde_in_a_local_store_is_the_home_folder(written, meant, tmp_path, monkeypatch):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert resolve_tracking_uri(written, ".") == meant.format(home=tmp_path)
    monkeypatch.setenv("MLFLOW_TRACKING_URI", written)
    assert resolve_tracking_uri(None, ".") == meant.format(home=tmp_path)


def test_the_cache_folder_and_the_report_folder_take_a_tilde(tmp_path, monkeypatch):
    from ablab.cli.report import main as report_main
    from ablab.config.cache import cache_dir
    from test_report_synthetic import new_store, write_demo

    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.setenv("ABLAB_CACHE_DIR", "~/cache")
    assert cache_dir() == tmp_path / "cache"
    demo = write_demo(new_store(tmp_path), tmp_path / "artifacts")
    monkeypatch.chdir(tmp_path)
    report_main(["demo", "--tracking-uri", demo.uri, "--out", "~/reports", "--no-log"])
    assert list((tmp_path / "reports" / "demo").glob("*/report.md"))  # not in a folder named ~
    assert not (tmp_path / "~").exists()


def test_params_are_the_resolved_config_with_dotted_keys():
    cfg, _ = compose_run(["+tracking.tags.owner=me"])
    params, _ = config_entries(cfg)
    assert params["optimizer.learning_rate"] == "0.001"
    assert params["initializer.args"] == '{"maxval": 0.05, "minval": -0.05}'
    assert params["model.hidden_units"] == "[50, 50, 50, 50]"
    assert params["dataset._target_"] == "ablab.datasets.mnist_5k.load"
    assert params["dataset.test_size"] == "0.3"
    assert params["trainer.epochs"] == "100"
    assert not any(key.startswith(("study", "tracking.tags")) for key in params)


def test_git_commit_of_a_checkout_and_of_a_plain_folder(tmp_path):
    project = Path(__file__).resolve().parents[1]  # the repository (CONF_DIR is the packaged path)
    if not (project / ".git").exists():
        pytest.skip("the project is not a git checkout here")
    assert re.fullmatch(r"[0-9a-f]{40}", git_commit(project) or "")
    assert git_commit(tmp_path) is None


def test_ensure_experiment_reuses_and_restores(store):
    client = MlflowClient(store)
    first = ensure_experiment(client, "exp")
    assert ensure_experiment(client, "exp") == first
    client.delete_experiment(first)
    assert ensure_experiment(client, "exp") == first
    assert client.get_experiment(first).lifecycle_stage == "active"


@pytest.mark.parametrize(
    ("error", "status"),
    [(None, "FINISHED"), (RuntimeError("boom"), "FAILED"), (KeyboardInterrupt(), "KILLED")],
)
def test_recorded_run_ends_finished_failed_or_killed(store, workdir, error, status):
    client = MlflowClient(store)
    experiment_id = ensure_experiment(client, "ablab")
    try:
        with recorded_run(client, experiment_id, "a run", {"activation": "relu"}) as recorder:
            recorder.log_epoch(1, {"loss": 0.5})
            if error is not None:
                raise error
    except (RuntimeError, KeyboardInterrupt) as raised:
        assert raised is error  # the real error is never masked
    (run,) = all_runs(store)
    assert run.info.status == status
    assert run.data.tags["activation"] == "relu"
    assert run.data.tags[RUN_NAME] == "a run"
    # The buffered epoch is flushed whatever the ending: partial curves stay inspectable.
    assert [(m.step, m.value) for m in client.get_metric_history(run.info.run_id, "loss")] == [(1, 0.5)]
    if status == "FAILED":
        assert run.data.tags[ERROR] == "RuntimeError: boom"
        error_text = workdir / client.download_artifacts(run.info.run_id, "error.txt", str(workdir))
        assert "Traceback" in error_text.read_text() and "boom" in error_text.read_text()
