"""The fused engine's fit on TensorFlow: the K models of a pack, trained side by side, epoch by
epoch (``ablab.run.engines.fused.pack_fit``), one ``tf.function`` call per epoch for them all
(``ablab.run.engines.fused.models``)."""

from __future__ import annotations

from collections.abc import Sequence

import tensorflow as tf

from ablab.datasets import Splits
from ablab.run.engines.contract import EpochLog, Fitted, ModelSpec
from ablab.run.engines.fused.models import FusedModels
from ablab.run.engines.fused.pack_fit import fit_pack


def fit_models(specs: Sequence[ModelSpec], splits: Splits, on_epoch: EpochLog) -> list[Fitted]:
    """Train the specs' models side by side; they share data, batch size and epochs."""
    return fit_pack(
        lambda: FusedModels(specs, splits.input_shape, splits.outputs), specs, splits, on_epoch, tf.constant
    )
