"""A fingerprint of what a run trains: its built model, its optimizer and its data settings.

Two study arms with the same fingerprint train the same thing, so comparing them measures
noise only (``ablab.study.dead_factors`` refuses such a study). Built, not guessed from YAML:
a user's builder that ignores the activation group builds identical models for every activation.
"""

from __future__ import annotations

import hashlib
import json

import keras
from omegaconf import DictConfig

from ablab.models.blocks import build_optimizer
from ablab.models.probe import ProbeModels
from ablab.run_key import drop_keys, result_settings

# What reaches the run only through the built model or the optimizer, which are hashed as built.
_BUILT = ("initializer", "activation", "normalization", "regularization", "model", "optimizer")
# The same seed is used for every arm's build; the engine changes how, not what, is trained.
_NOT_COMPARED = ("trainer.seed", "trainer.engine")


class Fingerprints:
    """Fingerprints of run configs, from their models as ``probes`` builds them (at seed 0)."""

    def __init__(self, probes: ProbeModels | None = None) -> None:
        self.probes = probes or ProbeModels()

    def __call__(self, cfg: DictConfig) -> str:
        model = self.probes(cfg)
        optimizer = build_optimizer(cfg.optimizer).get_config()
        optimizer.pop("name", None)
        digest = hashlib.sha256()
        rest = drop_keys(result_settings(cfg), _BUILT + _NOT_COMPARED)
        for part in (_describe(model), optimizer, rest):
            digest.update(json.dumps(part, sort_keys=True, default=repr).encode())
        for weights in model.get_weights():  # the initializer shows in the initial weights
            digest.update(weights.tobytes())
        return digest.hexdigest()[:16]


def _describe(model: keras.Model) -> object:
    """The model's config; layer by layer when Keras cannot serialize one (an activation with
    arguments is a functools.partial, whose repr still shows them)."""
    try:
        return model.get_config()
    except Exception:  # Keras raises TypeError or ValueError, depending on the object
        return [_describe_layer(layer) for layer in model.layers]


def _describe_layer(layer: keras.layers.Layer) -> object:
    try:
        return layer.get_config()
    except Exception:
        return {"class": type(layer).__name__, "activation": repr(getattr(layer, "activation", layer))}
