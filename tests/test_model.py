"""The MLP is built from Keras identifiers exactly as configured, through its builder."""

from __future__ import annotations

import keras
import numpy as np
import pytest

from ablab.models import build_model
from ablab.models.blocks import build_optimizer
from conftest import compose_run


def build_mlp(cfg, input_dim):
    """The configured model for flat inputs of ``input_dim`` features and 10 classes."""
    return build_model(cfg, (input_dim,), 10)


def test_default_model_is_the_seeds_mlp():
    cfg, _ = compose_run()
    model = build_mlp(cfg, input_dim=784)
    assert model.count_params() == 47410
    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    assert [layer.units for layer in dense] == [50, 50, 50, 50, 10]
    assert all(isinstance(layer.kernel_initializer, keras.initializers.RandomUniform) for layer in dense)
    assert model.layers[-1] is dense[-1] and dense[-1].activation is keras.activations.linear  # logits


def test_initializer_and_its_args_reach_every_layer():
    cfg, _ = compose_run(["initializer.args.minval=0.5", "initializer.args.maxval=0.6"])
    model = build_mlp(cfg, input_dim=20)
    for layer in model.layers:
        if isinstance(layer, keras.layers.Dense):
            kernel = np.asarray(layer.kernel)
            assert kernel.min() >= 0.5 and kernel.max() <= 0.6


def test_activation_args_are_passed_through():
    cfg, _ = compose_run(
        ["activation=leaky_relu", "activation.args.negative_slope=0.25", "model.hidden_units=[4]"]
    )
    model = build_mlp(cfg, input_dim=3)
    activation = model.layers[1]
    assert isinstance(activation, keras.layers.Activation)
    out = np.asarray(activation(np.array([[-2.0, 0.0, 3.0]], dtype=np.float32)))
    np.testing.assert_allclose(out, [[-0.5, 0.0, 3.0]])


def test_optimizer_gets_learning_rate_and_args():
    cfg, _ = compose_run(["optimizer=sgd_momentum", "optimizer.learning_rate=0.05"])
    optimizer = build_optimizer(cfg.optimizer)
    assert isinstance(optimizer, keras.optimizers.SGD)
    assert float(optimizer.learning_rate) == pytest.approx(0.05)
    assert optimizer.momentum == 0.9


NORMALIZATION = {
    "none": None,
    "batchnorm": keras.layers.BatchNormalization,
    "layernorm": keras.layers.LayerNormalization,
}
# Parameters each normalization layer adds per unit: BatchNorm gamma, beta, moving mean and
# variance; LayerNorm gamma, beta.
NORM_PARAMS = {"none": 0, "batchnorm": 4, "layernorm": 2}


@pytest.mark.parametrize("regularization", ["none", "dropout", "l2"])
@pytest.mark.parametrize("normalization", list(NORMALIZATION))
def test_hidden_layer_stack_is_dense_norm_activation_dropout(normalization, regularization):
    cfg, _ = compose_run(
        [f"normalization={normalization}", f"regularization={regularization}", "model.hidden_units=[6,4]"]
    )
    model = build_mlp(cfg, input_dim=5)
    norm = NORMALIZATION[normalization]
    expected_hidden = [keras.layers.Dense, *([norm] if norm else []), keras.layers.Activation]
    if regularization == "dropout":
        expected_hidden.append(keras.layers.Dropout)
    expected = [*expected_hidden, *expected_hidden, keras.layers.Dense]
    assert [type(layer) for layer in model.layers] == expected

    dense = [layer for layer in model.layers if isinstance(layer, keras.layers.Dense)]
    if regularization == "l2":  # every kernel, the head's too
        assert all(float(layer.kernel_regularizer.l2) == pytest.approx(1e-4) for layer in dense)
    else:
        assert all(layer.kernel_regularizer is None for layer in dense)
    dropout = [layer for layer in model.layers if isinstance(layer, keras.layers.Dropout)]
    assert [layer.rate for layer in dropout] == ([0.2, 0.2] if regularization == "dropout" else [])
    # The summary artifact and param_count come from count_params(): the added layers count.
    dense_params = 5 * 6 + 6 + 6 * 4 + 4 + 4 * 10 + 10
    assert model.count_params() == dense_params + NORM_PARAMS[normalization] * (6 + 4)


def test_normalization_args_reach_the_keras_layer():
    cfg, _ = compose_run(["normalization=batchnorm", "normalization.args.momentum=0.5"])
    layers = build_mlp(cfg, input_dim=3).layers
    batchnorms = [layer for layer in layers if isinstance(layer, keras.layers.BatchNormalization)]
    assert len(batchnorms) == 4 and all(layer.momentum == 0.5 for layer in batchnorms)


def test_dropout_rate_and_l2_strength_are_taken_from_config():
    cfg, _ = compose_run(["regularization.dropout=0.35", "regularization.l2=0.01", "model.hidden_units=[4]"])
    layers = build_mlp(cfg, input_dim=3).layers
    assert [type(layer) for layer in layers][:3] == [
        keras.layers.Dense,
        keras.layers.Activation,
        keras.layers.Dropout,
    ]
    assert layers[2].rate == 0.35
    assert float(layers[0].kernel_regularizer.l2) == pytest.approx(0.01)
