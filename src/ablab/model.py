"""Builds the MLP from config, with Keras identifiers passed straight to Keras."""

from __future__ import annotations

import functools

import keras
from omegaconf import DictConfig, OmegaConf

# keras.layers classes that normalize a layer's output as they are (Normalization needs adapt(),
# SpectralNormalization wraps another layer).
NORMALIZATION_LAYERS = tuple(
    sorted(
        name
        for name in dir(keras.layers)
        if name.endswith("Normalization") and name not in ("Normalization", "SpectralNormalization")
    )
)


def initializer(cfg: DictConfig) -> keras.initializers.Initializer:
    args = OmegaConf.to_container(cfg.args, resolve=True)
    return keras.initializers.get({"class_name": cfg.name, "config": args})


def activation_function(cfg: DictConfig):
    function = keras.activations.get(cfg.name)
    args = OmegaConf.to_container(cfg.args, resolve=True)
    return functools.partial(function, **args) if args else function


def _normalization(cfg: DictConfig) -> keras.layers.Layer | None:
    """A fresh layer of the configured Keras normalization class; None when there is none."""
    if cfg.name is None:
        return None
    return getattr(keras.layers, cfg.name)(**OmegaConf.to_container(cfg.args, resolve=True))


def build_mlp(cfg: DictConfig, input_dim: int) -> keras.Model:
    """The seed's model: per hidden layer Dense -> [normalization] -> Activation -> [Dropout],
    then Dense -> softmax; the bracketed layers come from the normalization and regularization
    groups (the series' part 5: batch norm before each activation, dropout after it).

    Every Dense layer draws its kernel from the configured initializer, as in the seed, and
    carries the L2 penalty when one is configured.
    """
    l2 = cfg.regularization.l2

    def dense(units: int) -> keras.layers.Dense:
        return keras.layers.Dense(
            units,
            kernel_initializer=initializer(cfg.initializer),
            kernel_regularizer=keras.regularizers.L2(l2) if l2 > 0 else None,
        )

    model = keras.Sequential(name="mlp")
    model.add(keras.Input(shape=(input_dim,)))
    for units in cfg.model.hidden_units:
        model.add(dense(units))
        normalization = _normalization(cfg.normalization)
        if normalization is not None:
            model.add(normalization)
        model.add(keras.layers.Activation(activation_function(cfg.activation)))
        if cfg.regularization.dropout > 0:
            model.add(keras.layers.Dropout(cfg.regularization.dropout))
    model.add(dense(cfg.model.output_units))
    model.add(keras.layers.Activation("softmax"))
    return model


def build_optimizer(cfg: DictConfig) -> keras.optimizers.Optimizer:
    args = OmegaConf.to_container(cfg.args, resolve=True)
    return keras.optimizers.get(
        {"class_name": cfg.name, "config": {"learning_rate": cfg.learning_rate, **args}}
    )
