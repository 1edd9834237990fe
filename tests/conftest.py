"""Shared helpers: compose runs from conf/ as Hydra does, and read a real MLflow store back."""

from __future__ import annotations

import shutil
import sys
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from pathlib import Path

import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra
from mlflow.entities import ViewType
from mlflow.tracking import MlflowClient
from omegaconf import open_dict

from ablab.cli.train import CONFIG_DIR, main
from ablab.config.schema import register_schemas
from ablab.tracking.client import RunRecorder, fail_run, finish_run, start_run

CONF_DIR = Path(CONFIG_DIR)
# A run that trains in a second or two: two epochs of a one-layer, 8-unit MLP on mnist_5k.
TINY = ["trainer.epochs=2", "model.hidden_units=[8]", "trainer.verbose=0"]

register_schemas()


def compose_run(overrides=(), config_dir=CONF_DIR):
    """Compose conf/train.yaml with ``overrides``; returns (cfg as @hydra.main sees it, choices)."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(config_dir), version_base="1.3"):
        cfg = compose(config_name="train", overrides=list(overrides), return_hydra_config=True)
    choices = {
        group: choice
        for group, choice in cfg.hydra.runtime.choices.items()
        if choice and not group.startswith("hydra/")
    }
    with open_dict(cfg):
        del cfg["hydra"]
    return cfg, choices


def sqlite_uri(directory: Path) -> str:
    return f"sqlite:///{directory / 'mlflow.db'}"


def all_runs(uri: str) -> list:
    """Every run of every experiment (deleted ones too) in the store; [] if it was never created."""
    if not Path(uri.removeprefix("sqlite:///")).exists():
        return []
    client = MlflowClient(uri)
    experiments = client.search_experiments(view_type=ViewType.ALL)
    if not experiments:
        return []
    return client.search_runs(
        [e.experiment_id for e in experiments], run_view_type=ViewType.ALL, max_results=50000
    )


def run_cli(monkeypatch, *args: str) -> int:
    """Run ``ablab-train ARGS`` in this process (no TF import cost); returns the exit code.

    Hydra's logging is left alone so its handlers do not outlive pytest's captured streams.
    """
    argv = ["ablab-train", *args, "hydra/job_logging=none", "hydra/hydra_logging=none"]
    monkeypatch.setattr(sys, "argv", argv)
    monkeypatch.delenv("HYDRA_FULL_ERROR", raising=False)
    GlobalHydra.instance().clear()
    try:
        main()
    except SystemExit as exit_:
        return exit_.code if isinstance(exit_.code, int) else 1
    finally:
        GlobalHydra.instance().clear()
    return 0


@pytest.fixture
def workdir(tmp_path, monkeypatch):
    """An empty directory as cwd, with no MLflow URI in the environment.

    The default store is then ``workdir/mlflow.db``, and MLflow's default artifact root
    (``./mlruns``) lands here too instead of in the project.
    """
    monkeypatch.chdir(tmp_path)
    monkeypatch.delenv("MLFLOW_TRACKING_URI", raising=False)
    return tmp_path


@pytest.fixture(scope="session")
def blank_store(tmp_path_factory):
    """An initialized, empty MLflow sqlite file; creating one runs seconds of migrations."""
    directory = tmp_path_factory.mktemp("blank_store")
    MlflowClient(sqlite_uri(directory)).search_experiments()
    return directory / "mlflow.db"


@pytest.fixture
def store(workdir, blank_store):
    """A real MLflow store of its own for one test: ``workdir/mlflow.db``, the default location."""
    shutil.copy(blank_store, workdir / "mlflow.db")
    return sqlite_uri(workdir)


@pytest.fixture
def user_conf(tmp_path):
    """A copy of conf/ that a test can add its own option files to, as a user would."""
    conf = tmp_path / "conf"
    shutil.copytree(CONF_DIR, conf)
    return conf


@contextmanager
def recorded_run(
    client: MlflowClient,
    experiment_id: str,
    run_name: str,
    tags: Mapping[str, str],
    parent_run_id: str | None = None,
) -> Iterator[RunRecorder]:
    """A run written by hand in a test, ended as ablab ends its runs: FINISHED, FAILED (error
    text logged) or KILLED — never RUNNING."""
    recorder = start_run(client, experiment_id, run_name, tags, parent_run_id)
    try:
        yield recorder
    except BaseException as error:
        fail_run(recorder, error)
        raise
    else:
        finish_run(recorder)
