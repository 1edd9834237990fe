"""The seed's model (``model=mlp``, the default)."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from ablab.models.blocks import Blocks


def build_mlp(
    blocks: Blocks, input_shape: tuple[int, ...], outputs: int, hidden_units: Sequence[int]
) -> keras.Model:
    """Per hidden layer Dense -> [normalization] -> activation -> [dropout], then the head.

    Images are flattened first (Flatten has no weights, so the kernels are drawn as the seed's).
    """
    layers: list[keras.layers.Layer] = [keras.layers.Flatten()] if len(input_shape) > 1 else []
    for units in hidden_units:
        layers += blocks.hidden(blocks.dense(units))
    layers += blocks.head(outputs)
    # All layers at once: Sequential.add rebuilds the model on every call (~2x the build time).
    return keras.Sequential([keras.Input(shape=input_shape), *layers], name="mlp")
