"""train(): tiny real runs (Keras, mnist_5k) logged to a real MLflow store, and how runs end."""

from __future__ import annotations

import dataclasses
import json
import math
import shutil
from types import SimpleNamespace

import pytest
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

import ablab.run.pipeline
from ablab.cli.train import train
from ablab.config.run_key import run_key
from ablab.errors import Diverged
from ablab.tracking.tags import DIVERGED, ERROR, GIT_COMMIT, HYDRA_OVERRIDES, RUN_KEY
from conftest import TINY, all_runs, compose_run, run_cli, sqlite_uri

EPOCH_METRICS = ("loss", "accuracy", "val_loss", "val_accuracy")
FINAL_METRICS = ("test_loss", "test_accuracy", "train_seconds", "param_count")
TINY_PARAMS = 784 * 8 + 8 + 8 * 10 + 10  # one Dense(8) hidden layer, Dense(10) head


@pytest.fixture(scope="module")
def finished(tmp_path_factory, blank_store):
    """One tiny run of the default config, trained once for the tests of this module."""
    directory = tmp_path_factory.mktemp("finished")
    shutil.copy(blank_store, directory / "mlflow.db")
    uri = sqlite_uri(directory)
    overrides = [*TINY, f"tracking.uri={uri}"]
    cfg, choices = compose_run(overrides)
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(directory)  # MLflow puts artifacts under ./mlruns
        patch.delenv("MLFLOW_TRACKING_URI", raising=False)
        metrics = train(cfg, choices=choices, overrides=overrides, base_dir=directory)
    (run,) = all_runs(uri)
    return SimpleNamespace(
        cfg=cfg,
        overrides=overrides,
        metrics=metrics,
        run=run,
        client=MlflowClient(uri),
        directory=directory,
    )


def artifact_text(client, run, path, directory):
    return (directory / client.download_artifacts(run.info.run_id, path, str(directory))).read_text()


def test_run_finishes_with_the_config_as_dotted_params(finished):
    assert finished.run.info.status == "FINISHED"
    assert finished.run.info.end_time is not None
    params = finished.run.data.params
    assert params["optimizer.name"] == "sgd"
    assert params["optimizer.learning_rate"] == "0.001"
    assert params["initializer.args"] == '{"maxval": 0.05, "minval": -0.05}'
    assert params["model.hidden_units"] == "[8]"
    assert params["trainer.epochs"] == "2"
    assert params["trainer.validation_split"] == "0.3"
    assert params["dataset._target_"] == "ablab.datasets.mnist_5k.load"
    assert finished.run.data.tags["dataset"] == "mnist_5k"


def test_one_value_per_epoch_with_step_equal_to_epoch(finished):
    for key in EPOCH_METRICS:
        history = finished.client.get_metric_history(finished.run.info.run_id, key)
        assert sorted(m.step for m in history) == [1, 2], key
        assert all(math.isfinite(m.value) for m in history)


def test_final_metrics_are_logged_and_returned(finished):
    assert set(finished.run.data.metrics) == {*EPOCH_METRICS, *FINAL_METRICS}
    for key in FINAL_METRICS:
        assert finished.run.data.metrics[key] == pytest.approx(finished.metrics[key]), key
    assert finished.metrics["param_count"] == TINY_PARAMS
    assert 0.0 <= finished.metrics["test_accuracy"] <= 1.0
    assert finished.metrics["train_seconds"] > 0


def test_tags_name_the_choices_overrides_versions_and_key(finished):
    tags = finished.run.data.tags
    assert {g: tags[g] for g in ("initializer", "activation", "optimizer", "dataset")} == {
        "initializer": "random_uniform",
        "activation": "sigmoid",
        "optimizer": "sgd",
        "dataset": "mnist_5k",
    }
    assert tags[HYDRA_OVERRIDES] == " ".join(finished.overrides)
    for library in ("tensorflow", "keras", "hydra", "mlflow"):
        assert tags[f"version.{library}"][:1].isdigit(), library
    assert tags[RUN_KEY] == run_key(finished.cfg)


def test_artifacts_config_learning_curve_and_summary(finished):
    client, run, directory = finished.client, finished.run, finished.directory
    assert {a.path for a in client.list_artifacts(run.info.run_id)} >= {
        "config.yaml",
        "learning_curve.png",
        "model_summary.txt",
    }
    logged = OmegaConf.create(artifact_text(client, run, "config.yaml", directory))
    assert OmegaConf.to_container(logged) == OmegaConf.to_container(finished.cfg, resolve=True)
    png = directory / client.download_artifacts(run.info.run_id, "learning_curve.png", str(directory))
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n"
    assert f"{TINY_PARAMS:,}" in artifact_text(client, run, "model_summary.txt", directory)


def test_settings_that_never_change_the_numbers_are_tags_not_params(finished):
    params, tags = finished.run.data.params, finished.run.data.tags
    settings = ("trainer.verbose", "trainer.threads", "trainer.steps_per_execution", "objective")
    assert {key: tags[key] for key in settings} == {
        "trainer.verbose": "0",
        "trainer.threads": "None",
        "trainer.steps_per_execution": "32",
        "objective": "None",
    }
    assert tags["tracking.uri"] == sqlite_uri(finished.directory)
    assert not any(key.startswith(("tracking", "objective", "pack", "study")) for key in params)
    assert not set(settings) & set(params)
    assert {"trainer.epochs", "trainer.seed", "trainer.engine"} <= set(params)


def test_mlflow_standard_source_tags(finished):
    import getpass

    tags = finished.run.data.tags
    assert tags["mlflow.source.name"] == "ablab-train"
    assert tags["mlflow.source.type"] == "LOCAL"
    assert tags["mlflow.user"] == getpass.getuser()
    # A plain temporary folder is no git checkout: no commit claimed.
    assert GIT_COMMIT not in tags and "git_commit" not in tags


def test_each_split_is_logged_as_a_dataset_input(finished):
    inputs = finished.client.get_run(finished.run.info.run_id).inputs.dataset_inputs
    by_context = {i.tags[0].value: i.dataset for i in inputs}
    assert set(by_context) == {"train", "validation", "test"}
    # mnist_5k: 3,500 training images, Keras holds out the last 30% of them; 1,500 test images.
    rows = {context: json.loads(d.profile)["features_shape"][0] for context, d in by_context.items()}
    assert rows == {"train": 2450, "validation": 1050, "test": 1500}
    assert all(d.name == "mnist_5k" and d.source_type == "code" for d in by_context.values())
    assert len({d.digest for d in by_context.values()}) == 3
    assert json.loads(by_context["test"].source)["tags"]["random_state"] == 7


def test_hydra_config_files_are_logged_beside_config_yaml(finished):
    client, run, directory = finished.client, finished.run, finished.directory
    files = {a.path for a in client.list_artifacts(run.info.run_id, ".hydra")}
    assert files >= {".hydra/config.yaml", ".hydra/overrides.yaml"}  # and hydra.yaml under Hydra
    config = OmegaConf.create(artifact_text(client, run, ".hydra/config.yaml", directory))
    assert OmegaConf.to_container(config, resolve=True) == OmegaConf.to_container(finished.cfg, resolve=True)
    overrides = OmegaConf.create(artifact_text(client, run, ".hydra/overrides.yaml", directory))
    assert list(overrides) == finished.overrides


def test_no_matplotlib_figure_is_left_open(finished):
    import matplotlib.pyplot as plt

    assert plt.get_fignums() == []


def test_same_config_and_seed_give_identical_test_accuracy(finished):
    with pytest.MonkeyPatch.context() as patch:
        patch.chdir(finished.directory)
        again = train(finished.cfg, base_dir=finished.directory)
    assert again["test_accuracy"] == finished.metrics["test_accuracy"]
    assert again["test_loss"] == finished.metrics["test_loss"]
    reseeded, _ = compose_run([*finished.overrides, "trainer.seed=1"])
    assert run_key(reseeded) != run_key(finished.cfg)


def test_diverging_run_ends_failed_and_tagged(store):
    # ReLU on raw 0..255 pixels with a huge step overflows the weights: NaN loss in epoch 1.
    cfg, choices = compose_run([*TINY, "activation=relu", "optimizer.learning_rate=1e20"])
    with pytest.raises(Diverged, match="loss became nan at epoch 1"):
        train(cfg, choices)
    (run,) = all_runs(store)
    assert run.info.status == "FAILED"
    assert run.data.tags[DIVERGED] == "true"
    assert run.data.tags[ERROR].startswith("Diverged: loss became nan at epoch 1")
    history = MlflowClient(store).get_metric_history(run.info.run_id, "loss")
    assert [m.step for m in history] == [1] and math.isnan(history[0].value)
    assert "test_accuracy" not in run.data.metrics


def test_run_failing_after_training_ends_failed_with_error_text(store, workdir, monkeypatch):
    real_load = ablab.run.pipeline.load_dataset

    def load_with_broken_test_set(cfg):
        """The real data, but test images one pixel row short: evaluate() fails after the fit."""
        splits = real_load(cfg)
        return dataclasses.replace(splits, x_test=splits.x_test[:, :-1])

    monkeypatch.setattr(ablab.run.pipeline, "load_dataset", load_with_broken_test_set)
    assert run_cli(monkeypatch, *TINY, f"hydra.run.dir={workdir}/outputs") != 0

    (run,) = all_runs(store)  # the default store, in the directory the command started in
    assert run.info.status == "FAILED"
    client = MlflowClient(store)
    error_text = artifact_text(client, run, "error.txt", workdir)
    assert "Traceback" in error_text
    # The tag is one line that still carries the cause, which TF puts near the end.
    tag = run.data.tags[ERROR]
    assert tag.startswith("InvalidArgumentError: ") and "\n" not in tag
    assert "[32,756]" in tag and "[32,756]" in error_text  # 27 x 28 pixels, not 784
    # The curves of the two epochs that did run are kept.
    for key in EPOCH_METRICS:
        assert [m.step for m in client.get_metric_history(run.info.run_id, key)] == [1, 2]
    assert "test_accuracy" not in run.data.metrics
