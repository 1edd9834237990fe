"""A fingerprint of what a run trains: its built model, its optimizer and its data settings.

Two study arms with the same fingerprint train the same thing, so comparing them measures
noise only (``ablab.study.dead_factors`` refuses such a study). Built, not guessed from YAML:
a user's builder that ignores the activation group builds identical models for every activation.
"""

from __future__ import annotations

import hashlib
import json
from dataclasses import dataclass

import keras
from omegaconf import DictConfig

from ablab.config.groups import BUILT_GROUPS
from ablab.config.run_key import drop_keys, result_settings
from ablab.models.blocks import build_optimizer
from ablab.models.probe import ProbeModels

# What reaches the run only through the built model or the optimizer, which are hashed as built.
# The same seed is used for every arm's build; the engine changes how, not what, is trained.
_NOT_COMPARED = ("trainer.seed", "trainer.engine")


@dataclass(frozen=True)
class Fingerprint:
    """What a run trains, hashed; ``unread`` names the layers whose config Keras could not
    serialize, so their arguments (other than the weights and the activation's repr) are not in
    the digest: two runs can share a digest and still differ there."""

    digest: str
    unread: tuple[str, ...] = ()


class Fingerprints:
    """Fingerprints of run configs, from their models as ``probes`` builds them (at seed 0)."""

    def __init__(self, probes: ProbeModels | None = None) -> None:
        self.probes = probes or ProbeModels()

    def __call__(self, cfg: DictConfig) -> Fingerprint:
        model = self.probes(cfg)
        optimizer = build_optimizer(cfg.optimizer).get_config()
        optimizer.pop("name", None)
        digest = hashlib.sha256()
        rest = drop_keys(result_settings(cfg), BUILT_GROUPS + _NOT_COMPARED)
        described, unread = _describe(model)
        for part in (described, optimizer, rest):
            digest.update(json.dumps(part, sort_keys=True, default=repr).encode())
        for weights in model.get_weights():  # the initializer shows in the initial weights
            digest.update(weights.tobytes())
        return Fingerprint(digest.hexdigest()[:16], unread)


def _describe(model: keras.Model) -> tuple[object, tuple[str, ...]]:
    """The model's config, and no unread layer; layer by layer when Keras cannot serialize the
    model (an activation with arguments is a functools.partial, whose repr still shows them)."""
    try:
        return model.get_config(), ()
    except Exception:  # Keras raises TypeError or ValueError, depending on the object
        described = [_describe_layer(layer) for layer in model.layers]
        unread = tuple(d["layer"] for d in described if d.get("unread"))
        return described, unread


def _describe_layer(layer: keras.layers.Layer) -> dict:
    try:
        return layer.get_config()
    except Exception:  # as above: the layer keeps an object Keras cannot serialize
        activation = getattr(layer, "activation", None)
        name = f"{layer.name} ({type(layer).__name__})"
        return {"layer": name, "activation": repr(activation), "unread": True}
