"""trainer.backend: the same run on TensorFlow, JAX or PyTorch through the Keras engine; what is
refused before training (an unknown or missing backend, two backends in one process or study,
TensorFlow ops in a model on another backend); planning, --help and the report load none."""

from __future__ import annotations

import os
import subprocess
import sys
from pathlib import Path

import pytest
from mlflow import MlflowClient

from ablab.config.run_key import run_key
from ablab.errors import ConfigError
from ablab.run.backends import backend_problem, use_backend
from ablab.tracking.tags import ENGINE, RUN_KEY
from conftest import TINY, all_runs, compose_run, run_cli, sqlite_uri
from test_help import probe

ABLAB_TRAIN = Path(sys.executable).with_name("ablab-train")
OTHER_BACKENDS = ["jax", "torch"]

TENSORFLOW_MODEL = '''
import keras
import tensorflow as tf


class TfRelu(keras.layers.Layer):
    def call(self, x):
        return tf.nn.relu(x)


def uses_tf(blocks, input_shape, outputs, **_):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(), keras.layers.Dense(8),
                             TfRelu(), *blocks.head(outputs)])
'''


def ablab_train(workdir: Path, *args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess:
    """``ablab-train ARGS`` in a process of its own (one process imports Keras on one backend)."""
    environment = {k: v for k, v in os.environ.items() if k not in ("MLFLOW_TRACKING_URI", "KERAS_BACKEND")}
    return subprocess.run(
        [str(ABLAB_TRAIN), *args], cwd=workdir, env=environment | (env or {}),
        capture_output=True, text=True, timeout=600,
    )  # fmt: skip


def test_the_backend_defaults_to_keras_backend_else_tensorflow_and_the_config_wins(monkeypatch):
    monkeypatch.delenv("KERAS_BACKEND", raising=False)
    assert compose_run()[0].trainer.backend == "tensorflow"
    monkeypatch.setenv("KERAS_BACKEND", "jax")
    assert compose_run()[0].trainer.backend == "jax"
    assert compose_run(["trainer.backend=torch"])[0].trainer.backend == "torch"


def test_the_backend_is_part_of_the_run_key():
    keys = {run_key(compose_run([f"trainer.backend={name}"])[0]) for name in ("tensorflow", "jax", "torch")}
    assert len(keys) == 3


def test_an_unknown_backend_is_refused_before_any_backend_loads(tmp_path):
    loaded, result = probe(["trainer.backend=theano", *TINY], tmp_path)
    assert loaded["code"] == 2, result.stderr[-2000:]
    assert not any(loaded[m] for m in ("tensorflow", "keras", "jax", "torch")), loaded
    message = "trainer.backend='theano' (from the command line) is not a Keras backend"
    assert f"{message}; allowed: tensorflow, jax, torch." in result.stderr


def test_a_backend_not_installed_is_refused_naming_the_extra(workdir, monkeypatch, capsys):
    monkeypatch.setitem(sys.modules, "torch", None)  # import torch fails: as if never installed
    assert "pip install 'ablab[torch]'" in backend_problem("torch")
    assert run_cli(monkeypatch, "trainer.backend=torch", *TINY) == 2
    err = capsys.readouterr().err
    assert "trainer.backend='torch' (from the command line) needs the torch package" in err
    assert "pip install 'ablab[torch]'" in err and "tensorflow, jax" in err  # the installed ones
    assert all_runs(sqlite_uri(workdir)) == []


def test_a_process_with_keras_on_one_backend_refuses_another():
    import keras

    assert keras.backend.backend() == "tensorflow"  # the test process: KERAS_BACKEND unset
    with pytest.raises(ConfigError, match="this process trains on 'tensorflow' already"):
        use_backend("jax")
    assert os.environ.get("KERAS_BACKEND") in (None, "tensorflow")


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_help_and_study_planning_load_no_backend(backend, tmp_path):
    loaded, result = probe(["--help", f"trainer.backend={backend}"], tmp_path)
    assert not any(loaded.values()), result.stderr[-2000:]
    planning = "import ablab.study.jobs, ablab.study.packing, ablab.study.backend_check, ablab.run.backends"
    argv = ["study=seed", "study.factors.activation=[nosuch]", f"trainer.backend={backend}"]
    loaded, result = probe(argv, tmp_path, planning)
    assert loaded["code"] == 2, result.stderr[-2000:]
    assert not any(loaded[m] for m in ("tensorflow", "keras", "jax", "torch")), loaded


@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_the_report_loads_no_backend(backend, tmp_path):
    code = (
        "import json, sys\n"
        "import ablab.cli.report, ablab.report.make, ablab.report.read, ablab.report.render\n"
        "print(json.dumps([m for m in ('tensorflow', 'keras', 'jax', 'torch') if m in sys.modules]))\n"
    )
    env = os.environ | {"KERAS_BACKEND": backend}
    command = [sys.executable, "-c", code]
    result = subprocess.run(command, cwd=tmp_path, env=env, capture_output=True, text=True)
    assert result.stdout.strip() == "[]", result.stderr[-2000:]


MIXED_STUDY = """\
# @package _global_
defaults:
  - override /hydra/sweeper: ablation
study:
  name: mixed
  design: ofat
  seeds: [0, 1]
  baseline: {activation: sigmoid}
  factors: {trainer.backend: [jax]}
trainer: {epochs: 1, verbose: 0}
hydra:
  mode: MULTIRUN
"""


def test_a_study_whose_arms_change_the_backend_is_refused_while_planning(tmp_path):
    (tmp_path / "conf" / "study").mkdir(parents=True)
    (tmp_path / "conf" / "study" / "mixed.yaml").write_text(MIXED_STUDY)
    loaded, result = probe(["study=mixed", "hydra.sweeper.dry_run=true"], tmp_path)
    assert loaded["code"] == 2, result.stderr[-2000:]
    arms = "trainer.backend differs between the arms of this study: 'trainer.backend=jax' (jax)"
    assert arms in result.stderr
    assert "the study trains on trainer.backend='tensorflow'" in result.stderr
    assert not any(loaded[m] for m in ("tensorflow", "keras", "jax", "torch")), loaded


@pytest.mark.slow
@pytest.mark.parametrize("backend", OTHER_BACKENDS)
def test_a_model_calling_tensorflow_on_another_backend_is_refused_naming_the_op(backend, store, workdir):
    (workdir / "mynets.py").write_text(TENSORFLOW_MODEL)
    path = os.pathsep.join([str(workdir), os.environ.get("PYTHONPATH", "")])
    argv = [f"trainer.backend={backend}", "model._target_=mynets.uses_tf", *TINY]
    result = ablab_train(workdir, *argv, env={"PYTHONPATH": path})
    assert result.returncode == 2, result.stderr[-2000:]
    assert "calls TensorFlow directly: tf.nn.relu in TfRelu.call (" in result.stderr
    assert f"mynets.py:8). On trainer.backend='{backend}'" in result.stderr
    assert all_runs(store) == []  # refused by the model check, before any run opened


@pytest.mark.slow
def test_the_keras_engine_trains_a_tiny_run_on_each_backend(store, workdir):
    """Params and library versions name the backend; the three runs have three run keys; on a
    backend with no fused engine, trainer.engine=fused trains on Keras, said in one line."""
    for backend in ("tensorflow", "jax"):
        result = ablab_train(workdir, f"trainer.backend={backend}", *TINY)
        assert result.returncode == 0, result.stderr[-3000:]
    result = ablab_train(workdir, "trainer.engine=fused", *TINY, env={"KERAS_BACKEND": "torch"})
    assert result.returncode == 0, result.stderr[-3000:]
    assert "trainer.engine=fused has no fused engine on trainer.backend=torch" in result.stdout
    runs = {r.data.params["trainer.backend"]: r for r in MlflowClient(store).search_runs(["1"])}
    assert set(runs) == {"tensorflow", "jax", "torch"}
    for backend, run in runs.items():
        assert run.info.status == "FINISHED"
        assert f"version.{backend}" in run.data.tags
        assert run.data.tags[ENGINE] == "keras"
        assert 0.0 <= run.data.metrics["test_accuracy"] <= 1.0
    assert len({run.data.tags[RUN_KEY] for run in runs.values()}) == 3


@pytest.mark.slow
def test_a_saturating_softmax_learns_alike_on_every_backend(store, workdir):
    """Unscaled pixels with he_normal + relu + Adam (the series' +adam arm) saturate the softmax
    at once. The loss takes the head's logits, so JAX and PyTorch learn as TensorFlow does: 3
    epochs reach 0.65-0.72 test accuracy on each (from the clipped probabilities, JAX reached
    0.18 and PyTorch 0.19-0.27, their gradient gone)."""
    arm = ["initializer=he_normal", "activation=relu", "optimizer=adam", "trainer.epochs=3"]
    for backend in ("tensorflow", "jax", "torch"):
        result = ablab_train(workdir, "-m", f"trainer.backend={backend}", "trainer.seed=0,1", *arm)
        assert result.returncode == 0, result.stderr[-3000:]
    accuracy: dict[str, list[float]] = {}
    for run in MlflowClient(store).search_runs(["1"]):
        accuracy.setdefault(run.data.params["trainer.backend"], []).append(run.data.metrics["test_accuracy"])
    assert sorted((backend, len(values)) for backend, values in accuracy.items()) == [
        ("jax", 2), ("tensorflow", 2), ("torch", 2)
    ]  # fmt: skip
    reference = sum(accuracy["tensorflow"]) / 2
    assert reference > 0.5, accuracy
    for backend in OTHER_BACKENDS:
        assert all(abs(value - reference) < 0.15 for value in accuracy[backend]), accuracy


@pytest.mark.slow
def test_the_seed_study_agrees_across_backends_within_noise(tmp_path):
    """The seed study at 10 epochs (3 seeds) on each backend's Keras fit: per arm, Welch's test
    finds no difference from TensorFlow (p > 0.05 / 8, Bonferroni over the 2 x 4 tests), the
    arms rank alike (pairs within 5 pp on TensorFlow, the two near chance, aside), and the arms
    do differ: on every backend each Adam seed beats every baseline seed. (Three seeds give
    Welch little power; the ordering is the sharper half of the check.)"""
    from backends import agreement, same_ordering
    from study_speed import SEED_ARMS, run_ablab

    frames = {}
    # torch with the preset's fused engine, which it has not: Keras fit, after one log line.
    for backend, engine in (("tensorflow", "keras"), ("jax", "keras"), ("torch", "fused")):
        side = "tensorflow fit" if backend == "tensorflow" else backend
        _, frames[side] = run_ablab(
            tmp_path / backend, "seed", 10, [0, 1, 2], engine, [f"trainer.backend={backend}"]
        )
        assert set(frames[side]["engine"]) == {"keras"} and len(frames[side]) == 12
    compared = agreement(frames, SEED_ARMS)
    assert len(compared) == 8 and (compared["p_welch"] > 0.05 / 8).all(), compared.to_string()
    means = {side: frame.groupby("arm")["test_accuracy"].mean() for side, frame in frames.items()}
    assert all(same_ordering(means["tensorflow fit"], means[side]) for side in ("jax", "torch")), means
    for frame in frames.values():
        adam = frame.loc[frame["arm"] == "optimizer=adam", "test_accuracy"].to_numpy(float)
        baseline = frame.loc[frame["arm"] == "baseline", "test_accuracy"].to_numpy(float)
        assert adam.min() > baseline.max() + 0.1, frame.to_string()
