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

from ablab.datasets import Splits, load_dataset
from ablab.models.blocks import build_optimizer
from ablab.models.build import build_model
from ablab.run_key import drop_keys, result_settings

# What reaches the run only through the built model or the optimizer, which are hashed as built.
_BUILT = ("initializer", "activation", "normalization", "regularization", "model", "optimizer")
# The same seed is used for every arm's build; the engine changes how, not what, is trained.
_NOT_COMPARED = ("trainer.seed", "trainer.engine")


class Fingerprints:
    """Fingerprints of run configs; loads each distinct dataset once (for its shape only)."""

    def __init__(self) -> None:
        self._data: dict[str, Splits] = {}

    def _splits(self, cfg: DictConfig) -> Splits:
        key = json.dumps(result_settings(cfg)["dataset"], sort_keys=True, default=str)
        if key not in self._data:
            self._data[key] = load_dataset(cfg.dataset)
        return self._data[key]

    def __call__(self, cfg: DictConfig) -> str:
        splits = self._splits(cfg)
        # Layer names restart, so equal models serialize equally; no garbage collection, which
        # costs ~0.2 s a call once TensorFlow is loaded.
        keras.backend.clear_session(free_memory=False)
        keras.utils.set_random_seed(0)
        model = build_model(cfg, splits.input_shape, splits.outputs)
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
