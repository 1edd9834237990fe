"""The fused engine's fit on JAX: the K models of a pack, trained side by side, epoch by epoch
(``ablab.run.engines.fused.pack_fit``), one compiled call per epoch and architecture
(``ablab.run.engines.fused_jax.models``)."""

from __future__ import annotations

from collections.abc import Sequence

import jax.numpy as jnp

from ablab.datasets import Splits
from ablab.run.engines.contract import EpochLog, Fitted, ModelSpec
from ablab.run.engines.fused.pack_fit import fit_pack
from ablab.run.engines.fused_jax.models import JaxFusedModels


def fit_models(specs: Sequence[ModelSpec], splits: Splits, on_epoch: EpochLog) -> list[Fitted]:
    """Train the specs' models side by side; they share data, batch size and epochs."""

    def build() -> JaxFusedModels:
        return JaxFusedModels(specs, splits.input_shape, splits.outputs)

    return fit_pack(build, specs, splits, on_epoch, jnp.asarray)
