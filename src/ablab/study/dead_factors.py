"""Refuses a study whose arms train the same thing: a factor that changes nothing built.

The fingerprint (``ablab.models.fingerprint``) is passed in, so this module stays free of
TensorFlow and its tests can use any function of the config.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence

from omegaconf import DictConfig

from ablab.errors import ConfigError
from ablab.study.design import Arm


def refuse_dead_factors(
    arms: Sequence[tuple[Arm, DictConfig]], fingerprint: Callable[[DictConfig], str]
) -> None:
    """ConfigError naming the arms (and their changed factors) that build the same model,
    optimizer and data as another arm; nothing when every arm trains something different."""
    first_with: dict[str, Arm] = {}
    duplicates: list[str] = []
    for arm, cfg in arms:
        same = fingerprint(cfg)
        if same in first_with:
            other = first_with[same]
            changes = ", ".join(f"{key}: {old} -> {new}" for key, (old, new) in arm.changed.items()) or "none"
            duplicates.append(f"arm {arm.name!r} (changes {changes}) trains the same as arm {other.name!r}")
        else:
            first_with[same] = arm
    if duplicates:
        raise ConfigError(
            "Dead factor(s): " + "; ".join(duplicates) + ". The built model, its initial weights, the "
            "optimizer and the data are identical, so the comparison would measure noise only. The "
            "model builder probably ignores that factor (build its layers with ablab.models.blocks: "
            "blocks.dense/conv, blocks.hidden, blocks.head), or drop the factor from study.factors."
        )
