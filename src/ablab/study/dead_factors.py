"""Refuses a study whose arms train the same thing: a factor that changes nothing built.

The fingerprint (``ablab.models.fingerprint``) is passed in, so this module stays free of
TensorFlow and its tests can use any function of the config.
"""

from __future__ import annotations

import logging
from collections.abc import Callable, Sequence
from typing import TYPE_CHECKING

from omegaconf import DictConfig

from ablab.errors import ConfigError
from ablab.study.design import Arm

if TYPE_CHECKING:
    from ablab.models.fingerprint import Fingerprint

log = logging.getLogger(__name__)


def refuse_dead_factors(
    arms: Sequence[tuple[Arm, DictConfig]], fingerprint: Callable[[DictConfig], Fingerprint]
) -> None:
    """ConfigError naming the arms (and their changed factors) that build the same model,
    optimizer and data as another arm; nothing when every arm trains something different.

    Arms that match only as far as their fingerprints could read (a layer Keras did not
    serialize) are not refused: a warning names the layers, since they may differ there."""
    first_with: dict[str, tuple[Arm, Fingerprint]] = {}
    duplicates: list[str] = []
    for arm, cfg in arms:
        found = fingerprint(cfg)
        if found.digest not in first_with:
            first_with[found.digest] = (arm, found)
            continue
        other, other_found = first_with[found.digest]
        changes = ", ".join(f"{key}: {old} -> {new}" for key, (old, new) in arm.changed.items()) or "none"
        same = f"arm {arm.name!r} (changes {changes}) trains the same as arm {other.name!r}"
        unread = sorted({*found.unread, *other_found.unread})
        if unread:
            log.warning(
                "Possibly a dead factor: %s, as far as ablab can read the models; not refused, since "
                "Keras could not serialize the config of layer(s) %s, where they may differ.",
                same,
                ", ".join(unread),
            )
        else:
            duplicates.append(same)
    if duplicates:
        raise ConfigError(
            "Dead factor(s): " + "; ".join(duplicates) + ". The built model, its initial weights, the "
            "optimizer and the data are identical, so the comparison would measure noise only. The "
            "model builder probably ignores that factor (build its layers with ablab.models.blocks: "
            "blocks.dense/conv, blocks.hidden, blocks.head), or drop the factor from study.factors."
        )
