"""The building blocks a model builder composes: layers made from the composed config groups.

Keras identifiers from YAML are passed straight to Keras. A builder asks ``Blocks`` for a
``dense`` or ``conv`` layer (the configured initializer and L2 penalty), ``hidden(layer)``
(that layer, then the normalization, activation and dropout groups) and ``head(outputs)``
(the output Dense, whose logits the task's loss takes), and ablab's factors reach every layer it builds.
"""

from __future__ import annotations

import functools
from typing import Any

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


class Blocks:
    """Layers made from one run's composed config; each call makes fresh layers (and draws the
    initializer's seed at that moment, so a builder's call order fixes its initial weights)."""

    def __init__(self, cfg: DictConfig) -> None:
        self.cfg = cfg

    def _kernel_args(self) -> dict[str, Any]:
        l2 = self.cfg.regularization.l2
        return {
            "kernel_initializer": initializer(self.cfg.initializer),
            "kernel_regularizer": keras.regularizers.L2(l2) if l2 > 0 else None,
        }

    def dense(self, units: int) -> keras.layers.Dense:
        """A Dense layer with the configured initializer and L2 penalty, no activation."""
        return keras.layers.Dense(units, **self._kernel_args())

    def conv(self, filters: int, kernel_size: int = 3, **kwargs: Any) -> keras.layers.Conv2D:
        """A same-padded Conv2D with the configured initializer and L2 penalty, no activation."""
        return keras.layers.Conv2D(filters, kernel_size, padding="same", **self._kernel_args(), **kwargs)

    def activation(self) -> keras.layers.Activation:
        return keras.layers.Activation(activation_function(self.cfg.activation))

    def normalization(self) -> keras.layers.Layer | None:
        """A fresh layer of the configured Keras normalization class; None when there is none."""
        cfg = self.cfg.normalization
        if cfg.name is None:
            return None
        return getattr(keras.layers, cfg.name)(**OmegaConf.to_container(cfg.args, resolve=True))

    def dropout(self) -> keras.layers.Dropout | None:
        rate = self.cfg.regularization.dropout
        return keras.layers.Dropout(rate) if rate > 0 else None

    def hidden(self, layer: keras.layers.Layer) -> list[keras.layers.Layer]:
        """``layer`` -> [normalization] -> activation -> [dropout]: the series' part 5 (batch norm
        before each activation, dropout after it)."""
        layers = [layer, self.normalization(), self.activation(), self.dropout()]
        return [layer for layer in layers if layer is not None]

    def head(self, outputs: int) -> list[keras.layers.Layer]:
        """The output Dense, with no activation: the logits the task's loss takes (the loss and
        the vote apply softmax or sigmoid themselves, see ``ablab.models.objective``)."""
        return [self.dense(outputs)]


def build_optimizer(cfg: DictConfig) -> keras.optimizers.Optimizer:
    args = OmegaConf.to_container(cfg.args, resolve=True)
    return keras.optimizers.get(
        {"class_name": cfg.name, "config": {"learning_rate": cfg.learning_rate, **args}}
    )
