"""The fused engine: tiny real packs on mnist_5k, logged to real temporary MLflow stores."""

from __future__ import annotations

import keras
import numpy as np
import pandas as pd
import pytest
import tensorflow as tf
from engine_agreement import compare_engines, same_ordering, welch_p
from mlflow.tracking import MlflowClient

from ablab.cli.train import train
from ablab.errors import Diverged
from ablab.models import build_model
from ablab.models.blocks import build_optimizer as build_keras_optimizer
from ablab.run.engines.contract import ModelSpec
from ablab.run.engines.fused.models import FusedModels
from ablab.run.engines.fused.optimizer_kernels import kernel_optimizer
from ablab.run.engines.fused.step_cost import step_cost
from ablab.run.engines.fused.support import pack_key
from ablab.run.pipeline import train_runs
from ablab.run.request import RunRequest
from ablab.study.design import Arm
from ablab.study.jobs import Job
from ablab.study.packing import plan_packs
from ablab.tracking.tags import DIVERGED, ENGINE, ERROR, MEMBER_SEEDS, PACK_SIZE, RUN_KEY
from conftest import TINY, all_runs, compose_run

FUSED = [*TINY, "trainer.engine=fused"]


def members(store: str, *variants: list[str]) -> list[RunRequest]:
    """One pack member per variant: the tiny fused config with the variant's overrides."""
    out = []
    for variant in variants:
        base = [o for o in FUSED if "model=cnn" not in variant or not o.startswith("model.hidden_units")]
        overrides = [*base, f"tracking.uri={store}", *variant]
        cfg, choices = compose_run(overrides)
        out.append(RunRequest(cfg, choices, overrides))
    return out


def train_pack(requests: list[RunRequest], workdir):
    return train_runs(requests, workdir, threads=None)


def curve(store: str, run, key: str) -> list[float]:
    return [m.value for m in MlflowClient(store).get_metric_history(run.info.run_id, key)]


BN_DROPOUT = ["activation=relu", "normalization=batchnorm", "regularization=dropout", "trainer.seed=3"]
CNN = [
    "model=cnn",
    "model.filters=[4]",
    "model.dense_units=8",
    "scaling=unit",
    "optimizer=adam",
    "trainer.seed=4",
]
NEIGHBOURS = [
    ["trainer.seed=0"],
    ["initializer=he_normal", "optimizer=adamw", "regularization=l2", "trainer.seed=1"],
    ["activation=tanh", "optimizer=rmsprop", "model.hidden_units=[16,8]", "trainer.seed=2"],
]


@pytest.mark.parametrize("target", [BN_DROPOUT, CNN], ids=["batchnorm+dropout mlp", "cnn"])
def test_a_model_trains_the_same_alone_and_in_a_pack_of_four(store, workdir, target):
    """Its own initial weights, batch order, dropout stream and batch-norm statistics: nothing
    it computes depends on its pack-mates, not even on a twin of another seed that runs the
    same traced step with its own variables."""
    twin = [*target[:-1], "trainer.seed=0"]
    others = NEIGHBOURS[1:]
    if target is CNN:  # a pack shares its data, scaling included
        others = [[*n, "scaling=unit"] for n in others]
    neighbours = [twin, *others]
    [alone] = train_pack(members(store, target), workdir)
    packed = train_pack(members(store, neighbours[0], target, *neighbours[1:]), workdir)

    in_pack = packed[1]
    assert in_pack.run_key == alone.run_key and in_pack.error is None
    for key in ("test_loss", "test_accuracy", "param_count"):
        assert in_pack.metrics[key] == pytest.approx(alone.metrics[key], abs=1e-6)
    # Two runs with the same key: the store keeps both, with the same curves.
    runs = [r for r in all_runs(store) if r.data.tags[RUN_KEY] == alone.run_key]
    assert len(runs) == 2
    for key in ("loss", "accuracy", "val_loss", "val_accuracy"):
        assert curve(store, runs[0], key) == pytest.approx(curve(store, runs[1], key), abs=1e-6)
    # The neighbours really trained something else.
    assert len({round(o.metrics["test_loss"], 6) for o in packed}) == 4
    assert {r.data.tags[PACK_SIZE] for r in all_runs(store)} == {"1", "4"}
    assert {r.data.tags[ENGINE] for r in all_runs(store)} == {"fused"}


def test_batch_norm_keeps_moving_statistics_per_model(store, workdir):
    """Each model's own moving mean moved away from its start, and differently from a twin's."""
    requests = members(store, BN_DROPOUT, [*BN_DROPOUT[:-1], "trainer.seed=5"])
    specs = [ModelSpec(r.config, r.config.trainer.seed) for r in requests]
    models = FusedModels(specs, (28, 28, 1), 10)
    x = np.random.default_rng(0).normal(size=(64, 28, 28, 1)).astype(np.float32) + 3.0
    y = np.eye(10, dtype=np.float32)[np.arange(64) % 10]
    models.train_epoch(x, y)
    means = [
        [v.numpy() for v in m.non_trainable_variables if "moving_mean" in v.path][0] for m in models.models
    ]
    assert all(np.abs(m).max() > 0.01 for m in means) and not np.allclose(means[0], means[1])


def test_models_of_one_architecture_share_one_traced_step(store, workdir):
    """Seeds and initializers only set variables' starting values: those models trace one step.
    Another activation or optimizer setting is another step, and a Keras-applied optimizer
    (it steps only the variables it was built for) gives its model a step of its own."""
    variants = [
        BN_DROPOUT,
        [*BN_DROPOUT[:-1], "trainer.seed=5"],
        [*BN_DROPOUT[:-1], "initializer=he_normal", "trainer.seed=6"],
        [*BN_DROPOUT[:-1], "activation=tanh"],
        [*BN_DROPOUT, "optimizer.learning_rate=0.05"],
        ["optimizer=rmsprop", "trainer.seed=0"],
        ["optimizer=rmsprop", "trainer.seed=1"],
    ]
    specs = [ModelSpec(r.config, r.config.trainer.seed) for r in members(store, *variants)]
    models = FusedModels(specs, (28, 28, 1), 10)
    x = np.random.default_rng(0).normal(size=(64, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[np.arange(64) % 10]
    losses = models.train_epoch(x, y)["loss"]
    models.evaluate(x, y)
    steps = models.steps
    assert steps[0] is steps[1] is steps[2]
    assert len({id(step) for step in steps}) == 5
    assert all(step.train_function.experimental_get_tracing_count() == 1 for step in steps)
    assert all(step.evaluate_function.experimental_get_tracing_count() == 1 for step in steps)
    assert len(set(np.round(losses, 6))) == len(variants)  # each trained its own variables


def test_initial_weights_are_the_keras_engines(store, workdir):
    """The fused engine builds each model as the Keras engine does: same builder, same seed."""
    [request] = members(store, [*BN_DROPOUT[:-1], "initializer=orthogonal", "trainer.seed=7"])
    keras.utils.set_random_seed(7)
    reference = build_model(request.config, (28, 28, 1), 10).get_weights()
    fused = FusedModels([ModelSpec(request.config, 7)], (28, 28, 1), 10).models[0].get_weights()
    assert len(fused) == len(reference) and all(
        np.array_equal(a, b) for a, b in zip(fused, reference, strict=True)
    )


def test_a_diverging_model_fails_alone_and_its_pack_trains_on(store, workdir):
    healthy = ["activation=relu", "trainer.seed=0"]
    exploding = ["activation=relu", "optimizer.learning_rate=1.0e+30", "trainer.seed=1"]
    [reference] = train_pack(members(store, healthy), workdir)
    outcomes = train_pack(members(store, exploding, healthy), workdir)

    assert isinstance(outcomes[0].error, Diverged) and outcomes[0].metrics is None
    assert outcomes[1].error is None
    assert outcomes[1].metrics["test_accuracy"] == pytest.approx(reference.metrics["test_accuracy"], abs=1e-6)
    pack_runs = {
        r.data.tags[RUN_KEY]: r for r in all_runs(store) if r.data.tags[PACK_SIZE] == "2"
    }
    failed, finished = pack_runs[outcomes[0].run_key], pack_runs[outcomes[1].run_key]
    assert failed.info.status == "FAILED" and failed.data.tags[DIVERGED] == "true"
    assert failed.data.tags[ERROR].startswith("Diverged: loss became nan at epoch 1")
    assert "test_accuracy" not in failed.data.metrics
    assert [m.step for m in MlflowClient(store).get_metric_history(failed.info.run_id, "loss")] == [1]
    assert finished.info.status == "FINISHED" and len(curve(store, finished, "loss")) == 2


def test_a_pack_whose_models_all_diverge_fails_each_run(store, workdir):
    exploding = [["activation=relu", "optimizer.learning_rate=1.0e+30", f"trainer.seed={s}"] for s in (0, 1)]
    outcomes = train_pack(members(store, *exploding), workdir)
    assert all(isinstance(o.error, Diverged) for o in outcomes)
    assert {r.info.status for r in all_runs(store)} == {"FAILED"}


def test_a_fused_run_is_recorded_like_a_keras_run(store, workdir):
    for engine in ("keras", "fused"):
        overrides = [*TINY, f"trainer.engine={engine}", f"tracking.uri={store}"]
        cfg, choices = compose_run(overrides)
        metrics = train(cfg, choices=choices, overrides=overrides, base_dir=workdir)
        assert set(metrics) == {"test_loss", "test_accuracy", "train_seconds", "param_count"}
    runs = {r.data.tags[ENGINE]: r for r in all_runs(store)}
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


@pytest.mark.parametrize(
    ("optimizer", "extra"),
    [("sgd", []), ("sgd_momentum", []), ("sgd_momentum", ["optimizer.args.nesterov=true"]), ("adam", [])],
)
def test_sgd_and_adam_kernels_step_as_the_keras_optimizers(optimizer, extra):
    cfg, _ = compose_run([f"optimizer={optimizer}", "optimizer.learning_rate=0.05", *extra])
    rng = np.random.default_rng(0)
    start = rng.normal(size=(4, 3)).astype(np.float32)
    gradients = [rng.normal(size=(4, 3)).astype(np.float32) for _ in range(4)]
    ours, theirs = keras.Variable(start), keras.Variable(start)
    kernels = kernel_optimizer(build_keras_optimizer(cfg.optimizer), [ours])
    reference = build_keras_optimizer(cfg.optimizer)
    assert kernels is not None
    for gradient in gradients:
        kernels.apply([tf.constant(gradient)], [ours.value], kernels.state)
        reference.apply([tf.constant(gradient)], [theirs])
    np.testing.assert_allclose(np.asarray(ours), np.asarray(theirs), rtol=1e-5, atol=1e-6)


@pytest.mark.parametrize(
    "overrides",
    [["optimizer=rmsprop"], ["optimizer=adam", "+optimizer.args.clipnorm=1.0"], ["optimizer=adamw"]],
)
def test_other_optimizers_and_keras_extras_are_applied_by_keras(overrides):
    cfg, _ = compose_run(overrides)
    assert kernel_optimizer(build_keras_optimizer(cfg.optimizer), [keras.Variable(np.zeros(3))]) is None


def test_keras_fit_repeats_its_shuffled_order_every_epoch():
    """Why the fused engine keeps one row order per model: under keras.utils.set_random_seed,
    fit's shuffle restarts from the same seed each epoch (if Keras changes this, so must
    ablab.run.engines.fused.models.row_order)."""

    class FirstRow(keras.Model):
        def __init__(self):
            super().__init__()
            self.dense = keras.layers.Dense(1)

        def call(self, x):
            return self.dense(x)

        def train_step(self, data):
            return {"first": data[0][0, 0]}

    seen = []
    keras.utils.set_random_seed(0)
    model = FirstRow()
    model.compile(optimizer="sgd", loss="mse")
    x = np.arange(40, dtype=np.float32)[:, None]
    record = keras.callbacks.LambdaCallback(
        on_train_batch_end=lambda b, logs: seen.append(float(logs["first"]))
    )
    model.fit(x, x, batch_size=5, epochs=3, shuffle=True, verbose=0, callbacks=[record])
    epochs = [seen[i : i + 8] for i in range(0, 24, 8)]
    assert epochs[0] == epochs[1] == epochs[2] and epochs[0] != [0.0, 5.0, 10.0, 15.0, 20.0, 25.0, 30.0, 35.0]


CUSTOM_STEP = """
import keras


class OwnStep(keras.Sequential):
    def train_step(self, data):
        return super().train_step(data)


def own_step(blocks, input_shape, outputs):
    return OwnStep([keras.Input(input_shape), keras.layers.Flatten(), *blocks.head(outputs)])
"""


def test_a_model_with_its_own_train_step_trains_on_keras_and_says_why(store, workdir, monkeypatch, caplog):
    (workdir / "ownstep.py").write_text(CUSTOM_STEP)
    monkeypatch.syspath_prepend(str(workdir))
    plain, custom = members(store, ["trainer.seed=0"], ["model=mlp", "~model.hidden_units", "trainer.seed=1"])
    custom.config.model._target_ = "ownstep.own_step"
    outcomes = train_pack([plain, custom], workdir)
    assert all(o.error is None for o in outcomes)
    engines = {r.data.tags[RUN_KEY]: r.data.tags[ENGINE] for r in all_runs(store)}
    assert [engines[o.run_key] for o in outcomes] == ["fused", "keras"]
    assert "trainer.engine=fused cannot train a model whose class OwnStep overrides train_step" in caplog.text


BRANCHING = """
import keras


class Branch(keras.layers.Layer):
    def call(self, x):
        return keras.ops.cond(keras.ops.mean(x) > 0, lambda: x, lambda: -x)


def branching(blocks, input_shape, outputs):
    layers = [keras.Input(input_shape), keras.layers.Flatten(), Branch(), *blocks.head(outputs)]
    return keras.Sequential(layers)
"""


def test_steps_run_single_threaded_unless_they_call_other_functions(store, workdir, monkeypatch):
    """The pack's epoch runs a straight-line step on the single-threaded executor; a step with a
    branch (it calls the branch's functions, which that executor could wait on forever) keeps
    TF's default executor, and both train."""
    (workdir / "branching.py").write_text(BRANCHING)
    monkeypatch.syspath_prepend(str(workdir))
    straight, branched = members(store, BN_DROPOUT, ["model=mlp", "~model.hidden_units", "trainer.seed=1"])
    branched.config.model._target_ = "branching.branching"
    specs = [ModelSpec(r.config, r.config.trainer.seed) for r in (straight, branched)]
    models = FusedModels(specs, (28, 28, 1), 10)
    x = np.random.default_rng(0).normal(size=(64, 28, 28, 1)).astype(np.float32)
    y = np.eye(10, dtype=np.float32)[np.arange(64) % 10]
    assert np.isfinite(models.train_epoch(x, y)["loss"]).all()

    orders = tf.constant(np.stack([np.arange(64, dtype=np.int32)] * 2))
    epoch = models._train_epoch.get_concrete_function(tf.constant(x), tf.constant(y), orders, models.live)
    library = {f.signature.name: f for f in epoch.graph.as_graph_def().library.function}
    step_calls = {  # (the called step has a branch, the executor the call asks for)
        (
            any(n.op in ("If", "StatelessIf") for n in library[node.attr["f"].func.name].node_def),
            node.attr["executor_type"].s.decode(),
        )
        for function in library.values()
        for node in function.node_def
        if node.op in ("PartitionedCall", "StatefulPartitionedCall") and "_train_" in node.attr["f"].func.name
    }
    assert step_calls == {(False, "SINGLE_THREADED_EXECUTOR"), (True, "")}


def test_an_ensemble_votes_over_members_trained_as_pack_models(store, workdir):
    """Member 0 of an ensemble is the single model of its seed: equal in the same pack."""
    single, ensemble = members(store, ["optimizer=adam"], ["optimizer=adam", "ensemble=soft_vote"])
    outcomes = train_pack([single, ensemble], workdir)
    runs = {r.data.tags[RUN_KEY]: r for r in all_runs(store)}
    voted = runs[outcomes[1].run_key]
    assert voted.data.tags[MEMBER_SEEDS] == "0,1000,2000"
    member_accuracy = [
        m.value for m in MlflowClient(store).get_metric_history(voted.info.run_id, "member_test_accuracy")
    ]
    assert len(member_accuracy) == 3
    assert member_accuracy[0] == pytest.approx(outcomes[0].metrics["test_accuracy"], abs=1e-6)
    assert outcomes[1].metrics["param_count"] == 3 * outcomes[0].metrics["param_count"]
    assert curve(store, voted, "loss") == pytest.approx(
        curve(store, runs[outcomes[0].run_key], "loss"), abs=1e-6
    )


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
    assert [len(p) for p in capped] == [4, 4, 4] and alone == []  # 12 runs, <= 5 a pack: 3 packs
    assert [len(p) for p in plan_packs(seed_study[:7], workers=2, max_size=None)[0]] == [4, 3]
    packs, alone = plan_packs(seed_study[:3], workers=2, max_size=None)  # 3 = 2 + 1
    assert [len(p) for p in packs] == [2] and alone == [seed_study[1]]  # a pack of one is a plain job

    other_epochs = [job("trainer.epochs=3", f"trainer.seed={s}") for s in (0, 1)]
    other_data = [job("scaling=unit", f"trainer.seed={s}") for s in (0, 1)]
    keras_only = job("trainer.engine=keras")
    packs, alone = plan_packs(
        [*seed_study[:2], *other_epochs, *other_data, keras_only], workers=1, max_size=None
    )
    assert sorted(tuple(j.config.trainer.seed for j in p) for p in packs) == [(0, 1)] * 3
    assert len({pack_key(p[0].config) for p in packs}) == 3
    assert alone == [keras_only]


def test_packs_count_an_ensembles_members_and_mix_the_arms():
    """The series' ladder: 18 single models and 3 ensembles of 3 are 27 models, 14 a worker."""
    singles = [job(*arm, f"trainer.seed={s}") for arm in ([], ["normalization=batchnorm"]) for s in range(9)]
    ensembles = [job("ensemble=soft_vote", f"trainer.seed={s}") for s in range(3)]
    packs, alone = plan_packs([*singles, *ensembles], workers=2, max_size=None)
    assert alone == [] and sorted(sum(j.config.ensemble.size for j in p) for p in packs) == [13, 14]
    for pack in packs:  # each worker gets ensembles and single models, in plan order
        assert {j.config.ensemble.size for j in pack} == {1, 3}
        order = [([*singles, *ensembles]).index(j) for j in pack]
        assert order == sorted(order)


def test_packs_balance_the_weighed_step_cost_not_the_model_count():
    """Batch-norm models weigh twice a plain one here: dealt by model count, one worker gets
    16 of the 30 units of work; dealt by cost, each gets 15."""
    plain = [job(f"trainer.seed={s}") for s in range(6)]
    heavy = [job("normalization=batchnorm", f"trainer.seed={s}") for s in range(3)]
    ensembles = [job("normalization=batchnorm", "ensemble=soft_vote", f"trainer.seed={s}") for s in range(3)]

    def cost(planned):
        return (2 if planned.config.normalization.name else 1) * planned.config.ensemble.size

    def loads(packs):
        return sorted(sum(map(cost, pack)) for pack in packs)

    jobs = [*plain, *heavy, *ensembles]
    assert loads(plan_packs(jobs, workers=2, max_size=None)[0]) == [14, 16]
    assert loads(plan_packs(jobs, workers=2, max_size=None, cost=cost)[0]) == [15, 15]


def test_a_models_step_cost_counts_its_layers_and_weight_tensors(tmp_path):
    """Dense(8) + relu + Dense(10): 3 layers, 4 weights. Batch norm adds a layer and 4 weights
    (2 trained, 2 moving statistics); a nested model counts its own layers."""
    plain = build_model(compose_run(TINY)[0], (64,), 10)
    batchnorm = build_model(compose_run([*TINY, "normalization=batchnorm"])[0], (64,), 10)
    assert step_cost(plain) == 3 + 4
    assert step_cost(batchnorm) == 4 + 8
    nested = keras.Sequential([keras.Input((64,)), plain, keras.layers.Dense(3)])
    assert step_cost(nested) == (3 + 1) + (4 + 2)


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
    """The equivalence check of benchmarks/study_speed.py (study=series), at 5 seeds x 2 arms x
    3 epochs: the series' baseline and its last single-model step (batch norm and dropout)."""
    small = ["scaling=unit", "model.hidden_units=[16]", "trainer.epochs=3", "trainer.verbose=0"]
    last_step = ["initializer=he_normal", "activation=relu", "optimizer=adam", "normalization=batchnorm",
                 "regularization=dropout"]  # fmt: skip
    arms = {"baseline": [], "+dropout": last_step}
    rows = []
    for arm, settings in arms.items():
        variants = [[*small, *settings, f"trainer.seed={seed}"] for seed in range(5)]
        for variant in variants:
            overrides = [*variant, f"tracking.uri={store}"]
            cfg, choices = compose_run(overrides)
            metrics = train(cfg, choices=choices, overrides=overrides, base_dir=workdir)
            rows.append({"arm": arm, "engine": "keras", "test_accuracy": metrics["test_accuracy"]})
        for outcome in train_pack(members(store, *variants), workdir):
            rows.append({"arm": arm, "engine": "fused", "test_accuracy": outcome.metrics["test_accuracy"]})

    table = compare_engines(pd.DataFrame(rows))
    assert (table[["n_keras", "n_fused"]] == 5).all().all()
    assert (table["p_welch"] > 0.05).all(), table
    assert same_ordering(table) and table.loc["+dropout", "fused"] > table.loc["baseline", "fused"] + 0.2
