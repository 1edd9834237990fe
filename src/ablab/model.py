"""Builds the MLP from config, with Keras identifiers passed straight to Keras."""

from __future__ import annotations

import functools

import keras
from omegaconf import DictConfig, OmegaConf


def _initializer(cfg: DictConfig) -> keras.initializers.Initializer:
    args = OmegaConf.to_container(cfg.args, resolve=True)
    return keras.initializers.get({"class_name": cfg.name, "config": args})


def _activation(cfg: DictConfig):
    function = keras.activations.get(cfg.name)
    args = OmegaConf.to_container(cfg.args, resolve=True)
    return functools.partial(function, **args) if args else function


def build_mlp(cfg: DictConfig, input_dim: int) -> keras.Model:
    """The seed's model: (Dense -> Activation) per hidden layer, then Dense -> softmax.

    Every Dense layer draws its kernel from the configured initializer, as in the seed.
    """
    model = keras.Sequential(name="mlp")
    model.add(keras.Input(shape=(input_dim,)))
    for units in cfg.model.hidden_units:
        model.add(keras.layers.Dense(units, kernel_initializer=_initializer(cfg.initializer)))
        model.add(keras.layers.Activation(_activation(cfg.activation)))
    model.add(keras.layers.Dense(cfg.model.output_units, kernel_initializer=_initializer(cfg.initializer)))
    model.add(keras.layers.Activation("softmax"))
    return model


def build_optimizer(cfg: DictConfig) -> keras.optimizers.Optimizer:
    args = OmegaConf.to_container(cfg.args, resolve=True)
    return keras.optimizers.get(
        {"class_name": cfg.name, "config": {"learning_rate": cfg.learning_rate, **args}}
    )
