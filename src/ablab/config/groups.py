"""The config groups by what they decide about a run, read from the schema (``Part``), so a new
group is declared once, in ``ablab.config.schema.TrainConfig``, and every list below follows."""

from __future__ import annotations

from dataclasses import fields

from ablab.config.schema import Part, TrainConfig


def groups_of(*parts: Part) -> tuple[str, ...]:
    """The groups that decide any of ``parts``, in the schema's order."""
    return tuple(f.name for f in fields(TrainConfig) if f.metadata.get("part") in parts)


# Every group a run records (as params and choice tags): all but where it is logged.
RUN_GROUPS = groups_of(*(part for part in Part if part is not Part.TRACKING))
# What a model builder reads: the built model depends on these and the data only.
MODEL_GROUPS = groups_of(Part.INITIAL_WEIGHTS, Part.LAYERS)
# What reaches a run only through its built model or its optimizer (both fingerprinted as built).
BUILT_GROUPS = groups_of(Part.INITIAL_WEIGHTS, Part.LAYERS, Part.OPTIMIZER)
# What a traced training step depends on: the layers and the optimizer, not the initial weights.
STEP_GROUPS = groups_of(Part.LAYERS, Part.OPTIMIZER)
# What each model of a fused pack keeps for itself (with its seed): the rest must match.
PER_MODEL_GROUPS = groups_of(Part.INITIAL_WEIGHTS, Part.LAYERS, Part.OPTIMIZER, Part.MEMBERS)
