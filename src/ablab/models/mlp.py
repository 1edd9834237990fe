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
    model = keras.Sequential(name="mlp")
    model.add(keras.Input(shape=input_shape))
    if len(input_shape) > 1:
        model.add(keras.layers.Flatten())
    for units in hidden_units:
        for layer in blocks.hidden(blocks.dense(units)):
            model.add(layer)
    for layer in blocks.head(outputs):
        model.add(layer)
    return model
