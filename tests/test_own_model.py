"""A model option names its builder by _target_: the built-in cnn, a user's own builder, and
every way a builder can be wrong (each refused before training, nothing left in MLflow)."""

from __future__ import annotations

import keras
import pytest

from ablab.datasets import load_dataset
from ablab.errors import ConfigError
from ablab.models import build_model
from ablab.tracking.tags import ENGINE
from conftest import TINY, all_runs, compose_run, run_cli, sqlite_uri

USER_PACKAGE = '''
import keras


def ignores_activation(blocks, input_shape, outputs, units=8):
    """Builds its own relu layers: the activation group never reaches it."""
    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                             keras.layers.Dense(units, activation="relu"), *blocks.head(outputs)])


def raises(blocks, input_shape, outputs):
    raise RuntimeError("my builder is broken")


def returns_a_layer(blocks, input_shape, outputs):
    return keras.layers.Dense(outputs)


def wrong_outputs(blocks, input_shape, outputs):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(), *blocks.head(3)])


def own_softmax(blocks, input_shape, outputs):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                             keras.layers.Dense(outputs, activation="softmax")])


def softmax_layer(blocks, input_shape, outputs):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(), *blocks.head(outputs),
                             keras.layers.Softmax()])


def sigmoid_output(blocks, input_shape, outputs):
    """A regression onto [0, 1]: a sigmoid is the model's own business there."""
    return keras.Sequential([keras.Input(input_shape), keras.layers.Dense(outputs, activation="sigmoid")])
'''


@pytest.fixture
def user_project(workdir, monkeypatch):
    """A user's project as cwd: a package ``mynets`` on sys.path and conf/model/<builder>.yaml
    for each of its builders (ablab layers ./conf over its own configs)."""
    (workdir / "mynets.py").write_text(USER_PACKAGE)
    monkeypatch.syspath_prepend(str(workdir))
    (workdir / "conf" / "model").mkdir(parents=True)
    for name in ("nowhere", "ignores_activation", "raises", "returns_a_layer", "wrong_outputs", "own_softmax",
                 "softmax_layer", "sigmoid_output"):  # fmt: skip
        (workdir / "conf" / "model" / f"{name}.yaml").write_text(f"_target_: mynets.{name}\n")
    return workdir


def test_cnn_keeps_the_image_shape_and_takes_every_block_group():
    cfg, _ = compose_run(["model=cnn", "activation=relu", "normalization=batchnorm", "regularization=dropout",
                          "initializer=he_normal"])  # fmt: skip
    model = build_model(cfg, (28, 28, 1), 10)
    types = [type(layer) for layer in model.layers]
    assert model.input_shape == (None, 28, 28, 1) and model.output_shape == (None, 10)
    assert types.count(keras.layers.Conv2D) == 2 and types.count(keras.layers.BatchNormalization) == 3
    assert types.count(keras.layers.Dropout) == 3 and types[:5] == [
        keras.layers.Conv2D, keras.layers.BatchNormalization, keras.layers.Activation, keras.layers.Dropout,
        keras.layers.MaxPooling2D,
    ]  # fmt: skip
    hidden = [layer for layer in model.layers if isinstance(layer, keras.layers.Activation)][:-1]
    assert all(layer.activation is keras.activations.relu for layer in hidden)
    kernels = [layer for layer in model.layers if isinstance(layer, keras.layers.Conv2D | keras.layers.Dense)]
    assert all(isinstance(layer.kernel_initializer, keras.initializers.HeNormal) for layer in kernels)


def test_cnn_refuses_flat_tables_with_a_clear_error():
    cfg, _ = compose_run(["model=cnn", "dataset=wine"])
    data = load_dataset(cfg.dataset)
    expected = r"model._target_='ablab.models.cnn.build_cnn' raised ValueError: the cnn needs images"
    with pytest.raises(ConfigError, match=expected):
        build_model(cfg, data.input_shape, data.outputs)


def test_cnn_trains_on_mnist_5k_images(store, workdir, monkeypatch):
    args = ["model=cnn", "model.filters=[4]", "model.dense_units=8", "trainer.epochs=1", "trainer.verbose=0"]
    assert run_cli(monkeypatch, *args, f"hydra.run.dir={workdir}/outputs") == 0
    (run,) = all_runs(store)
    assert run.info.status == "FINISHED" and run.data.tags["model"] == "cnn"
    assert run.data.tags[ENGINE] == "keras"
    assert 0.0 <= run.data.metrics["test_accuracy"] <= 1.0


def test_regression_run_logs_mse_and_mae(store, workdir, monkeypatch):
    args = ["dataset=diabetes", "scaling=standardize", "optimizer=adam", *TINY]
    assert run_cli(monkeypatch, *args, f"hydra.run.dir={workdir}/outputs") == 0
    (run,) = all_runs(store)
    metrics = run.data.metrics
    assert run.info.status == "FINISHED" and "test_accuracy" not in metrics
    assert metrics["test_loss"] == pytest.approx(metrics["test_mse"], rel=1e-5)  # no L2: loss is the MSE
    assert 0 < metrics["test_mae"] ** 2 <= metrics["test_mse"]  # mean |e| squared <= mean e^2
    assert {"loss", "mae", "val_loss", "val_mae"} <= set(metrics)


@pytest.mark.parametrize(
    ("target", "fragments"),
    [
        ("mynets.nowhere", ["model._target_='mynets.nowhere' does not import"]),
        ("mynets.raises", ["model._target_='mynets.raises' raised RuntimeError: my builder is broken"]),
        ("mynets.returns_a_layer", ["returned Dense, not a keras.Model"]),
        ("mynets.wrong_outputs", ["output shape is (None, 3)", "labels need (None, 10)", "blocks.head"]),
        ("mynets.own_softmax", ["ends in a softmax (its last layer, Dense 'dense')",
                                "takes the output layer's logits", "softmax of dataset.task='classification'",
                                "blocks.head(outputs)"]),
        ("mynets.softmax_layer", ["ends in a softmax (its last layer, Softmax 'softmax')"]),
    ],
    ids=["does-not-import", "raises", "not-a-model", "wrong-output-size", "own-softmax", "softmax-layer"],
)
def test_a_broken_builder_stops_before_training(user_project, monkeypatch, capsys, target, fragments):
    option = target.removeprefix("mynets.")
    code = run_cli(monkeypatch, f"model={option}", *TINY[:1], f"hydra.run.dir={user_project}/outputs")
    out, err = capsys.readouterr()
    assert code == 2
    assert all(fragment in err for fragment in fragments), err
    assert "Epoch 1/" not in out
    assert all_runs(sqlite_uri(user_project)) == []


def test_a_regression_model_may_end_in_its_own_sigmoid(user_project):
    """Only a classification head must give logits: a regression's output is the model's own."""
    cfg, _ = compose_run(["dataset=diabetes", "model=sigmoid_output"])
    model = build_model(cfg, (10,), 1)
    assert model.layers[-1].activation is keras.activations.sigmoid
