"""A small ConvNet for 28x28x1 images (``model=cnn``)."""

from __future__ import annotations

from collections.abc import Sequence

import keras

from ablab.models.blocks import Blocks


def build_cnn(
    blocks: Blocks,
    input_shape: tuple[int, ...],
    outputs: int,
    filters: Sequence[int],
    dense_units: int,
) -> keras.Model:
    """Per entry of ``filters``: Conv -> [normalization] -> activation -> [dropout] -> 2x2 max
    pool; then Dense(dense_units) as a hidden block, and the head."""
    if len(input_shape) != 3:
        raise ValueError(
            f"the cnn needs images of shape (height, width, channels); this dataset gives {input_shape}"
        )
    layers: list[keras.layers.Layer] = []
    for count in filters:
        layers += [*blocks.hidden(blocks.conv(count)), keras.layers.MaxPooling2D()]
    layers += [keras.layers.Flatten(), *blocks.hidden(blocks.dense(dense_units)), *blocks.head(outputs)]
    # All layers at once: Sequential.add rebuilds the model on every call.
    return keras.Sequential([keras.Input(shape=input_shape), *layers], name="cnn")
