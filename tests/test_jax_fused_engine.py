"""The fused engine on JAX: tiny real packs on mnist_5k, each trained by an ``ablab-train``
process with ``KERAS_BACKEND=jax`` (Keras picks its backend at its first import, and this
process runs it on TensorFlow), logged to real temporary MLflow stores read back here."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pandas as pd
import pytest
from engine_agreement import compare_engines, same_ordering
from mlflow.tracking import MlflowClient
from omegaconf import OmegaConf

from ablab.config.run_key import run_key
from ablab.run.engines.fused.pack_file import write_pack
from ablab.run.request import RunRequest
from ablab.tracking.tags import DIVERGED, ENGINE, ERROR, MEMBER_SEEDS, PACK_SIZE, RUN_KEY
from conftest import TINY, all_runs, compose_run

ABLAB_TRAIN = str(Path(sys.executable).with_name("ablab-train"))
SOURCE = str(Path(__file__).resolve().parents[1] / "src")
FUSED = [*TINY, "trainer.engine=fused"]

BN_DROPOUT = ["activation=relu", "normalization=batchnorm", "regularization=dropout", "trainer.seed=3"]
NEIGHBOURS = [
    [*BN_DROPOUT[:-1], "trainer.seed=0"],  # a twin: the same compiled step, its own variables
    [*BN_DROPOUT[:-1], "optimizer.learning_rate=0.05", "trainer.seed=5"],  # the same step too
    ["initializer=he_normal", "optimizer=adamw", "regularization=l2", "trainer.seed=1"],
    ["activation=tanh", "optimizer=rmsprop", "model.hidden_units=[16,8]", "trainer.seed=2"],
]


def ablab_train(workdir: Path, *args: str, backend: str = "jax") -> subprocess.CompletedProcess:
    env = {**os.environ, "KERAS_BACKEND": backend, "PYTHONPATH": SOURCE}
    env.pop("MLFLOW_TRACKING_URI", None)
    return subprocess.run(
        [ABLAB_TRAIN, *args], cwd=workdir, env=env, capture_output=True, text=True, timeout=900
    )


def requests(store: str, *variants: list[str]) -> list[RunRequest]:
    """One pack member per variant: the tiny fused config with the variant's overrides."""
    out = []
    for variant in variants:
        overrides = [*FUSED, f"tracking.uri={store}", *variant]
        cfg, choices = compose_run(overrides)
        out.append(RunRequest(cfg, choices, overrides))
    return out


def train_pack(workdir: Path, store: str, *variants: list[str]) -> list:
    """Train the variants as one pack job on JAX, as a study's worker does; each member's run
    (the latest of its run key) in order."""
    members = requests(store, *variants)
    pack = write_pack(workdir / f"pack-{len(list(workdir.glob('pack-*')))}.json", members)
    done = ablab_train(workdir, f"+pack={pack}")
    assert "cannot train" not in done.stdout + done.stderr, done.stderr
    runs = all_runs(store)
    return [
        max((r for r in runs if r.data.tags[RUN_KEY] == run_key(m.config)), key=lambda r: r.info.start_time)
        for m in members
    ]


def curve(store: str, run, key: str) -> list[float]:
    return [m.value for m in MlflowClient(store).get_metric_history(run.info.run_id, key)]


@pytest.mark.slow
def test_a_model_trains_the_same_alone_and_in_a_pack_of_five_on_jax(store, workdir):
    """Its own initial weights, batch order, dropout stream, batch-norm statistics and optimizer
    state: nothing it computes depends on its pack-mates, not on the two that share its
    compiled, vmapped epoch (a twin of another seed, another learning rate), nor on the
    architectures compiled beside it."""
    [alone] = train_pack(workdir, store, BN_DROPOUT)
    packed = train_pack(workdir, store, *NEIGHBOURS[:2], BN_DROPOUT, *NEIGHBOURS[2:])
    in_pack = packed[2]
    assert in_pack.info.status == alone.info.status == "FINISHED"
    assert in_pack.data.tags[RUN_KEY] == alone.data.tags[RUN_KEY]
    for key in ("test_loss", "test_accuracy", "param_count"):
        assert in_pack.data.metrics[key] == pytest.approx(alone.data.metrics[key], abs=1e-5)
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert curve(store, in_pack, key) == pytest.approx(curve(store, alone, key), abs=1e-5)
    # The neighbours really trained something else.
    assert len({round(r.data.metrics["test_loss"], 5) for r in packed}) == 5
    assert {r.data.tags[PACK_SIZE] for r in all_runs(store)} == {"1", "5"}
    assert {r.data.tags[ENGINE] for r in all_runs(store)} == {"fused"}


@pytest.mark.slow
def test_a_diverging_model_fails_alone_and_its_stack_trains_on(store, workdir):
    """The exploding model differs from the healthy one only in its learning rate: both are
    slices of one vmapped stack, and its NaNs stay in its own."""
    healthy = ["activation=relu", "trainer.seed=0"]
    exploding = ["activation=relu", "optimizer.learning_rate=1.0e+30", "trainer.seed=1"]
    [reference] = train_pack(workdir, store, healthy)
    failed, finished = train_pack(workdir, store, exploding, healthy)
    assert failed.info.status == "FAILED" and failed.data.tags[DIVERGED] == "true"
    assert failed.data.tags[ERROR].startswith("Diverged: loss became nan at epoch 1")
    assert "test_accuracy" not in failed.data.metrics
    assert [m.step for m in MlflowClient(store).get_metric_history(failed.info.run_id, "loss")] == [1]
    assert finished.info.status == "FINISHED" and len(curve(store, finished, "loss")) == 2
    for key in ("test_loss", "test_accuracy"):
        assert finished.data.metrics[key] == pytest.approx(reference.data.metrics[key], abs=1e-5)


@pytest.mark.slow
def test_an_ensemble_votes_over_members_trained_as_pack_models_on_jax(store, workdir):
    """Member 0 of an ensemble is the single model of its seed: equal in the same pack."""
    single, voted = train_pack(workdir, store, ["optimizer=adam"], ["optimizer=adam", "ensemble=soft_vote"])
    assert voted.info.status == "FINISHED" and voted.data.tags[MEMBER_SEEDS] == "0,1000,2000"
    client = MlflowClient(store)
    member_accuracy = [m.value for m in client.get_metric_history(voted.info.run_id, "member_test_accuracy")]
    assert len(member_accuracy) == 3 and len(set(member_accuracy)) > 1
    assert member_accuracy[0] == pytest.approx(single.data.metrics["test_accuracy"], abs=1e-5)
    assert voted.data.metrics["param_count"] == 3 * single.data.metrics["param_count"]
    assert curve(store, voted, "loss") == pytest.approx(curve(store, single, "loss"), abs=1e-5)


GROUPS = """
import json, sys
import numpy as np
from ablab.run.engines.contract import ModelSpec
from ablab.run.engines.fused_jax.models import JaxFusedModels
from omegaconf import OmegaConf

configs = [OmegaConf.create(c) for c in json.loads(sys.stdin.read())]
models = JaxFusedModels([ModelSpec(c, c.trainer.seed) for c in configs], (28, 28, 1), 10)
x = np.random.default_rng(0).normal(size=(70, 28, 28, 1)).astype(np.float32)
y = np.eye(10, dtype=np.float32)[np.arange(70) % 10]
losses = [models.train_epoch(x, y)["loss"] for _ in range(2)][-1]
models.evaluate(x, y)
print(json.dumps({
    "members": [list(g.members) for g in models.groups],
    "compiled": [g.train_epoch._cache_size() for g in models.groups],
    "losses": [float(v) for v in losses],
}))
"""


def test_models_of_one_step_share_one_compiled_epoch(store, workdir):
    """Seeds, initializers and the learning rate only set values (a float learning rate is a
    variable of the optimizer's): those models are one stack, compiled once. Another activation
    or optimizer is another compiled function in the same process."""
    variants = [
        BN_DROPOUT,
        [*BN_DROPOUT[:-1], "trainer.seed=5"],
        [*BN_DROPOUT[:-1], "initializer=he_normal", "trainer.seed=6"],
        [*BN_DROPOUT, "optimizer.learning_rate=0.05"],
        [*BN_DROPOUT[:-1], "activation=tanh"],
        ["optimizer=rmsprop", "trainer.seed=0"],
        ["optimizer=rmsprop", "trainer.seed=1"],
        ["optimizer=sgd_momentum", "trainer.seed=1"],
    ]
    configs = json.dumps([OmegaConf.to_container(r.config, resolve=True) for r in requests(store, *variants)])
    env = {**os.environ, "KERAS_BACKEND": "jax", "PYTHONPATH": SOURCE}
    done = subprocess.run(
        [sys.executable, "-c", GROUPS], input=configs, env=env, capture_output=True, text=True, timeout=300
    )
    assert done.returncode == 0, done.stderr
    result = json.loads(done.stdout.splitlines()[-1])
    assert result["members"] == [[0, 1, 2, 3], [4], [5, 6], [7]]
    assert result["compiled"] == [1, 1, 1, 1]  # two epochs, one compilation each
    assert len(set(round(v, 6) for v in result["losses"])) == len(variants)  # each its own variables


@pytest.mark.slow
def test_a_seed_study_on_jax_trains_every_arm_fused_and_reports(workdir):
    done = ablab_train(
        workdir, "study=seed", "trainer.epochs=2", "model.hidden_units=[8]", "study.seeds=[0,1]"
    )
    assert done.returncode == 0, done.stdout[-3000:] + done.stderr[-3000:]
    store = f"sqlite:///{workdir / 'mlflow.db'}"
    children = [r for r in all_runs(store) if RUN_KEY in r.data.tags]
    assert len(children) == 8
    assert {r.info.status for r in children} == {"FINISHED"}
    assert {r.data.tags[ENGINE] for r in children} == {"fused"}
    assert all(int(r.data.tags[PACK_SIZE]) > 1 for r in children)
    assert "cannot train" not in done.stdout + done.stderr
    (report_dir,) = (workdir / "reports" / "seed").iterdir()
    table = pd.read_csv(report_dir / "table.csv").set_index("arm")
    assert table["n_finished"].to_dict() == {
        "baseline": 2, "initializer=he_normal": 2, "activation=relu": 2, "optimizer=adam": 2
    }  # fmt: skip


@pytest.mark.slow
def test_jax_fused_and_jax_fit_agree_per_arm(store, workdir):
    """benchmarks/engine_agreement.py's check at 5 seeds x 2 arms x 3 epochs, on JAX: the series'
    baseline and its last single-model step (batch norm and dropout), Keras ``fit`` against the
    fused engine, whose two arms are one pack of two compiled stacks."""
    small = ["scaling=unit", "model.hidden_units=[16]", "trainer.epochs=3", "trainer.verbose=0"]
    last_step = ["initializer=he_normal", "activation=relu", "optimizer=adam", "normalization=batchnorm",
                 "regularization=dropout"]  # fmt: skip
    arms = {"baseline": [], "+dropout": last_step}
    seeds = "trainer.seed=0,1,2,3,4"
    for settings in arms.values():
        done = ablab_train(workdir, "-m", *small, *settings, seeds, "trainer.engine=keras",
                           f"tracking.uri={store}", "hydra/launcher=basic")  # fmt: skip
        assert done.returncode == 0, done.stderr[-3000:]
    variants = [[*small, *settings, f"trainer.seed={s}"] for settings in arms.values() for s in range(5)]
    train_pack(workdir, store, *variants)

    def arm_of(run) -> str:
        return "+dropout" if run.data.params["normalization.name"] != "None" else "baseline"

    rows = [
        {"arm": arm_of(r), "engine": r.data.tags[ENGINE], "test_accuracy": r.data.metrics["test_accuracy"]}
        for r in all_runs(store)
    ]
    table = compare_engines(pd.DataFrame(rows))
    assert (table[["n_keras", "n_fused"]] == 5).all().all(), table
    assert (table["p_welch"] > 0.05).all(), table
    assert same_ordering(table) and table.loc["+dropout", "fused"] > table.loc["baseline", "fused"] + 0.2
