"""The fused engine: tiny real packs on mnist_5k, logged to real temporary MLflow stores."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from mlflow.tracking import MlflowClient

from ablab.errors import Diverged
from ablab.fused.equivalence import compare_engines, same_ordering, welch_p
from ablab.fused.models import initial_kernels
from ablab.fused.optimizers import build_optimizer
from ablab.fused.pack import PackMember, train_pack
from ablab.fused.support import fallback_reason, pack_key
from ablab.models import build_model
from ablab.models.blocks import build_optimizer as build_keras_optimizer
from ablab.study.design import Arm
from ablab.study.jobs import Job
from ablab.study.packing import plan_packs
from ablab.train import train
from conftest import TINY, all_runs, compose_run

FUSED = [*TINY, "trainer.engine=fused"]


def members(store: str, *variants: list[str]) -> list[PackMember]:
    """One pack member per variant: the tiny fused config with the variant's overrides."""
    out = []
    for variant in variants:
        overrides = [*FUSED, f"tracking.uri={store}", *variant]
        cfg, choices = compose_run(overrides)
        out.append(PackMember(cfg, choices, overrides))
    return out


def curve(store: str, run, key: str) -> list[float]:
    return [m.value for m in MlflowClient(store).get_metric_history(run.info.run_id, key)]


TARGET = ["activation=relu", "trainer.seed=3"]
NEIGHBOURS = [
    ["trainer.seed=0"],
    ["initializer=he_normal", "optimizer=adam", "trainer.seed=1"],
    ["activation=tanh", "optimizer=sgd_momentum", "model.hidden_units=[16,8]", "trainer.seed=2"],
]


def test_a_model_trains_the_same_alone_and_in_a_pack_of_four(store, workdir):
    [alone] = train_pack(members(store, TARGET), workdir, threads=None)
    packed = train_pack(members(store, NEIGHBOURS[0], TARGET, *NEIGHBOURS[1:]), workdir, threads=None)

    in_pack = packed[1]
    assert in_pack.run_key == alone.run_key and in_pack.error is None
    for key in ("test_loss", "test_accuracy", "param_count"):
        assert in_pack.metrics[key] == pytest.approx(alone.metrics[key], abs=1e-6)
    # Two runs with the same key: the store keeps both, with the same curves.
    runs = [r for r in all_runs(store) if r.data.tags["ablab.run_key"] == alone.run_key]
    assert len(runs) == 2
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert curve(store, runs[0], key) == pytest.approx(curve(store, runs[1], key), abs=1e-6)
    # The neighbours really trained something else, one of them in another shape.
    assert len({round(o.metrics["test_loss"], 6) for o in packed}) == 4
    assert packed[3].metrics["param_count"] == 784 * 16 + 16 + 16 * 8 + 8 + 8 * 10 + 10
    assert {r.data.tags["ablab.pack_size"] for r in all_runs(store)} == {"1", "4"}


def test_a_diverging_model_fails_alone_and_its_pack_trains_on(store, workdir):
    healthy = ["activation=relu", "trainer.seed=0"]
    exploding = ["activation=relu", "optimizer.learning_rate=1.0e+30", "trainer.seed=1"]
    [reference] = train_pack(members(store, healthy), workdir, threads=None)
    outcomes = train_pack(members(store, exploding, healthy), workdir, threads=None)

    assert isinstance(outcomes[0].error, Diverged) and outcomes[0].metrics is None
    assert outcomes[1].error is None
    assert outcomes[1].metrics["test_accuracy"] == pytest.approx(reference.metrics["test_accuracy"], abs=1e-6)
    pack_runs = {
        r.data.tags["ablab.run_key"]: r for r in all_runs(store) if r.data.tags["ablab.pack_size"] == "2"
    }
    failed, finished = pack_runs[outcomes[0].run_key], pack_runs[outcomes[1].run_key]
    assert failed.info.status == "FAILED" and failed.data.tags["ablab.diverged"] == "true"
    assert failed.data.tags["ablab.error"].startswith("Diverged: loss became nan at epoch 1")
    assert "test_accuracy" not in failed.data.metrics
    assert [m.step for m in MlflowClient(store).get_metric_history(failed.info.run_id, "loss")] == [1]
    assert finished.info.status == "FINISHED" and len(curve(store, finished, "loss")) == 2


def test_a_pack_whose_models_all_diverge_fails_each_run(store, workdir):
    exploding = [["activation=relu", "optimizer.learning_rate=1.0e+30", f"trainer.seed={s}"] for s in (0, 1)]
    outcomes = train_pack(members(store, *exploding), workdir, threads=None)
    assert all(isinstance(o.error, Diverged) for o in outcomes)
    assert {r.info.status for r in all_runs(store)} == {"FAILED"}


def test_a_fused_run_is_recorded_like_a_keras_run(store, workdir):
    for engine in ("keras", "fused"):
        overrides = [*TINY, f"trainer.engine={engine}", f"tracking.uri={store}"]
        cfg, choices = compose_run(overrides)
        metrics = train(cfg, choices=choices, overrides=overrides, base_dir=workdir)
        assert set(metrics) == {"test_loss", "test_accuracy", "train_seconds", "param_count"}
    runs = {r.data.tags["ablab.engine"]: r for r in all_runs(store)}
    keras_run, fused_run = runs["keras"], runs["fused"]
    assert fused_run.info.status == keras_run.info.status == "FINISHED"
    assert set(fused_run.data.params) == set(keras_run.data.params)
    differing = {k for k, v in fused_run.data.params.items() if keras_run.data.params[k] != v}
    assert differing == {"trainer.engine"}
    assert set(fused_run.data.metrics) == set(keras_run.data.metrics)
    assert fused_run.data.metrics["param_count"] == keras_run.data.metrics["param_count"]
    assert set(fused_run.data.tags) ^ set(keras_run.data.tags) == {"ablab.pack_size"}
    client = MlflowClient(store)
    artifacts = {e: {a.path for a in client.list_artifacts(r.info.run_id)} for e, r in runs.items()}
    assert artifacts["fused"] == artifacts["keras"] == {
        "config.yaml", ".hydra", "learning_curve.png", "model_summary.txt"
    }  # fmt: skip
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert [m.step for m in client.get_metric_history(fused_run.info.run_id, key)] == [1, 2]
    # Same initial weights and data, a different shuffle: close after two epochs, not equal.
    assert fused_run.data.metrics["val_loss"] == pytest.approx(keras_run.data.metrics["val_loss"], abs=0.05)


def test_initial_weights_are_drawn_as_the_keras_engine_draws_them():
    for variant in (
        ["initializer=he_normal", "trainer.seed=5"],
        ["initializer=orthogonal", "trainer.seed=1"],
    ):
        cfg, _ = compose_run([*TINY, *variant])
        keras.utils.set_random_seed(cfg.trainer.seed)
        kernels = [w for w in build_model(cfg, (28, 28, 1), 10).get_weights() if w.ndim == 2]
        fused = initial_kernels(cfg, input_dim=784, outputs=10)
        assert len(kernels) == len(fused) == 2
        assert all(np.array_equal(a, b) for a, b in zip(kernels, fused, strict=True))


@pytest.mark.parametrize(
    ("optimizer", "nesterov"),
    [("sgd", False), ("sgd_momentum", False), ("sgd_momentum", True), ("adam", False)],
)
def test_fused_optimizers_step_as_keras_optimizers(optimizer, nesterov):
    cfg, _ = compose_run([f"optimizer={optimizer}", f"optimizer.learning_rate={0.05}"])
    if nesterov:
        cfg.optimizer.args.nesterov = True
    rng = np.random.default_rng(0)
    start = rng.normal(size=(4, 3)).astype(np.float32)
    gradients = [rng.normal(size=(4, 3)).astype(np.float32) for _ in range(4)]

    ours = tf.Variable(start)
    fused = build_optimizer(cfg.optimizer, [ours])
    theirs = keras.Variable(start)
    reference = build_keras_optimizer(cfg.optimizer)
    for gradient in gradients:
        fused.apply([tf.constant(gradient)], [ours])
        reference.apply([tf.constant(gradient)], [theirs])
    np.testing.assert_allclose(ours.numpy(), keras.ops.convert_to_numpy(theirs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    ("overrides", "reason"),
    [
        (["normalization=batchnorm"], "normalization BatchNormalization"),
        (["regularization=dropout"], "regularization.dropout=0.2"),
        (["ensemble=soft_vote"], "ensemble.size=3"),
        (["optimizer=rmsprop"], "optimizer 'rmsprop'"),
        (["optimizer=adam", "optimizer.args.amsgrad=true"], "amsgrad"),
        (["+optimizer.args.clipnorm=1.0"], "optimizer.args ['clipnorm']"),
        (["optimizer=sgd_momentum"], None),
        (["optimizer=adam", "regularization=l2", "activation=leaky_relu", "scaling=standardize"], None),
    ],
)
def test_what_the_fused_engine_cannot_train_falls_back(overrides, reason):
    cfg, _ = compose_run(["trainer.engine=fused", *overrides])
    found = fallback_reason(cfg)
    assert found == reason if reason is None else reason in found


def test_an_unsupported_run_trains_on_keras_and_says_why(store, workdir, caplog):
    overrides = [*FUSED, "normalization=batchnorm", f"tracking.uri={store}"]
    cfg, choices = compose_run(overrides)
    train(cfg, choices=choices, overrides=overrides, base_dir=workdir)
    (run,) = all_runs(store)
    assert run.info.status == "FINISHED"
    assert run.data.tags["ablab.engine"] == "keras" and run.data.params["trainer.engine"] == "keras"
    assert "trainer.engine=fused cannot train normalization BatchNormalization" in caplog.text


def job(*overrides: str) -> Job:
    cfg, _ = compose_run(["trainer.engine=fused", *overrides])
    arm = Arm(name=" ".join(overrides) or "baseline", settings={}, changed={})
    return Job(arm=arm, seed=cfg.trainer.seed, overrides=list(overrides), run_key="", config=cfg)


def test_packs_share_data_batches_and_epochs_and_balance_the_workers():
    seed_study = [
        job(*arm, f"trainer.seed={seed}")
        for arm in ([], ["initializer=he_normal"], ["activation=relu"], ["optimizer=adam"])
        for seed in (0, 1, 2)
    ]
    packs, alone = plan_packs(seed_study, workers=2, max_size=None)
    assert [len(p) for p in packs] == [6, 6] and alone == []
    assert plan_packs(seed_study, workers=1, max_size=None)[0] == [seed_study]
    capped, alone = plan_packs(seed_study, workers=1, max_size=5)
    assert [len(p) for p in capped] == [5, 5, 2] and alone == []
    assert [len(p) for p in plan_packs(seed_study[:7], workers=2, max_size=None)[0]] == [4, 3]
    packs, alone = plan_packs(seed_study[:3], workers=2, max_size=None)  # 3 = 2 + 1
    assert [len(p) for p in packs] == [2] and alone == [seed_study[2]]  # a pack of one is a plain job

    other_epochs = [job("trainer.epochs=3", f"trainer.seed={s}") for s in (0, 1)]
    other_data = [job("scaling=unit", f"trainer.seed={s}") for s in (0, 1)]
    keras_only = job("trainer.engine=keras")
    packs, alone = plan_packs(
        [*seed_study[:2], *other_epochs, *other_data, keras_only], workers=1, max_size=None
    )
    assert sorted(tuple(j.config.trainer.seed for j in p) for p in packs) == [(0, 1)] * 3
    assert len({pack_key(p[0].config) for p in packs}) == 3
    assert alone == [keras_only]


def test_welch_p_and_ordering_on_hand_made_numbers():
    assert welch_p(np.array([0.1, 0.1, 0.1]), np.array([0.1, 0.1, 0.1])) == 1.0
    assert welch_p(np.array([0.1, 0.1]), np.array([0.2, 0.2])) == 0.0
    runs = pd.DataFrame(
        {
            "arm": ["a"] * 6 + ["b"] * 6,
            "engine": (["keras"] * 3 + ["fused"] * 3) * 2,
            "test_accuracy": [0.5, 0.6, 0.7, 0.55, 0.65, 0.6, 0.9, 0.91, 0.92, 0.2, 0.21, 0.22],
        }
    )
    table = compare_engines(runs)
    assert table.loc["a", "p_welch"] == pytest.approx(1.0)  # means 0.6 and 0.6
    assert table.loc["b", "p_welch"] < 1e-4
    assert table.loc["b", "difference"] == pytest.approx(0.21 - 0.91)
    assert not same_ordering(table)  # keras: a < b; fused: b < a


def test_the_engines_agree_at_small_size(store, workdir):
    """The equivalence check of benchmarks/study_speed.py, at 5 seeds x 2 arms x 3 epochs."""
    small = ["scaling=unit", "model.hidden_units=[16]", "trainer.epochs=3", "trainer.verbose=0"]
    arms = {"baseline": [], "relu+adam": ["activation=relu", "optimizer=adam"]}
    rows = []
    for arm, settings in arms.items():
        variants = [[*small, *settings, f"trainer.seed={seed}"] for seed in range(5)]
        for variant in variants:
            overrides = [*variant, f"tracking.uri={store}"]
            cfg, choices = compose_run(overrides)
            metrics = train(cfg, choices=choices, overrides=overrides, base_dir=workdir)
            rows.append({"arm": arm, "engine": "keras", "test_accuracy": metrics["test_accuracy"]})
        for outcome in train_pack(members(store, *variants), workdir, threads=None):
            rows.append({"arm": arm, "engine": "fused", "test_accuracy": outcome.metrics["test_accuracy"]})

    table = compare_engines(pd.DataFrame(rows))
    assert (table[["n_keras", "n_fused"]] == 5).all().all()
    assert (table["p_welch"] > 0.05).all(), table
    assert same_ordering(table) and table.loc["relu+adam", "fused"] > table.loc["baseline", "fused"] + 0.2
