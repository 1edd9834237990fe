"""This project's own ConvNet, built from ablab's blocks so every ablab factor reaches it."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from ablab.models.blocks import Blocks


def build_convnet(
    blocks: Blocks, input_shape: tuple[int, ...], outputs: int, filters: Sequence[int], dense_units: int
) -> keras.Model:
    """Conv blocks, each followed by max pooling, then a Dense block: written with Keras'
    functional API (any keras.Model works, Sequential or not).

    ``blocks.hidden(layer)`` adds the study's normalization, activation and dropout after each
    layer; ``blocks.conv`` / ``blocks.dense`` carry its initializer and L2 penalty;
    ``blocks.head`` is the task's output layer.
    """
    inputs = keras.Input(shape=input_shape)
    x = inputs
    for count in filters:
        for layer in blocks.hidden(blocks.conv(count)):
            x = layer(x)
        x = keras.layers.MaxPooling2D()(x)
    x = keras.layers.Flatten()(x)
    for layer in [*blocks.hidden(blocks.dense(dense_units)), *blocks.head(outputs)]:
        x = layer(x)
    return keras.Model(inputs, x, name="convnet")
