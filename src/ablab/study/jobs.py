"""Turns arms x seeds into Hydra jobs: overrides, composed configs, run keys, purity checks."""

from __future__ import annotations

import copy
import re
from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from typing import Any

from omegaconf import DictConfig

from ablab.config.overrides import quote, tracking_overrides
from ablab.config.run_key import result_settings, run_key
from ablab.errors import ConfigError
from ablab.study.design import Arm
from ablab.study.spec import StudySpec
from ablab.tracking.tags import ARM, CHANGED, DATASET, DESIGN, SEED, STUDY

_PLAIN = re.compile(r"^[A-Za-z0-9_.\-/+:]+$")


def format_value(value: Any) -> str:
    """A Python value as Hydra override syntax (``null``, ``true``, ``[50,50]``, ``'a b'``)."""
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, int | float):
        return repr(value)
    if isinstance(value, list | tuple):
        return "[" + ",".join(format_value(v) for v in value) + "]"
    if isinstance(value, dict):
        return "{" + ",".join(f"{k}:{format_value(v)}" for k, v in value.items()) + "}"
    text = str(value)
    return text if _PLAIN.match(text) and text not in ("null", "true", "false") else quote(text)


def settings_overrides(settings: dict[str, Any], groups: frozenset[str]) -> list[str]:
    return [f"{k}={v if k in groups else format_value(v)}" for k, v in settings.items()]


@dataclass(frozen=True)
class Job:
    arm: Arm
    seed: int
    overrides: list[str]  # what to compose this job's config from (no tracking bookkeeping)
    run_key: str
    config: DictConfig = field(compare=False, repr=False)  # composed from ``overrides``
    dataset: str = ""  # the study.datasets option it trains on ("": the config's own dataset)


def _leaves(node: Any, prefix: str = "") -> dict[str, Any]:
    if isinstance(node, dict) and node:
        out: dict[str, Any] = {}
        for key, value in node.items():
            out.update(_leaves(value, f"{prefix}.{key}" if prefix else str(key)))
        return out
    return {prefix: node}


def _undeclared_differences(arm: Arm, arm_cfg: DictConfig, baseline_cfg: DictConfig) -> list[str]:
    """Config paths where the arm differs from the baseline outside its declared changes."""
    ours, theirs = _leaves(result_settings(arm_cfg)), _leaves(result_settings(baseline_cfg))
    differing = {p for p in ours.keys() | theirs.keys() if ours.get(p, ...) != theirs.get(p, ...)}
    differing.discard("trainer.seed")
    declared = list(arm.changed)
    return sorted(p for p in differing if not any(p == k or p.startswith(k + ".") for k in declared))


def plan_jobs(
    spec: StudySpec,
    arms: Sequence[Arm],
    common_overrides: Sequence[str],
    compose: Callable[[list[str]], DictConfig],
) -> list[Job]:
    """Compose every job's config, check that each arm changes only its declared keys, and key
    it; raises ConfigError before any training (``ablab.study.arm_checks`` checks the rest)."""
    baseline_cfg = compose(
        [*common_overrides, *settings_overrides(spec.baseline, spec.groups), f"trainer.seed={spec.seeds[0]}"]
    )
    jobs = []
    for arm in arms:
        arm_overrides = [*common_overrides, *settings_overrides(arm.settings, spec.groups)]
        # Composed once per arm (a compose costs ~0.3 s); the seeds differ in trainer.seed only.
        arm_cfg = compose([*arm_overrides, f"trainer.seed={spec.seeds[0]}"])
        stray = _undeclared_differences(arm, arm_cfg, baseline_cfg)
        if stray:
            raise ConfigError(
                f"arm {arm.name!r} is not pure: besides its declared change(s) "
                f"{sorted(arm.changed) or '(none)'} it also differs from the baseline in "
                f"{stray} (a factor's YAML sets other keys?). Make each factor change only "
                "its own key, or declare the extra key as part of the study."
            )
        for seed in spec.seeds:
            cfg = copy.deepcopy(arm_cfg)
            cfg.trainer.seed = seed
            overrides = [*arm_overrides, f"trainer.seed={seed}"]
            jobs.append(Job(arm=arm, seed=seed, overrides=overrides, run_key=run_key(cfg), config=cfg))
    return jobs


def tracking_settings(job: Job, spec: StudySpec, tracking_uri: str, parent_run_id: str) -> dict[str, Any]:
    """The job's ``tracking`` node: where it logs and the ablab.* tags it carries."""
    return {
        "uri": tracking_uri,
        "experiment": spec.name,
        "parent_run_id": parent_run_id,
        "tags": {
            STUDY: spec.name,
            DESIGN: spec.design,
            ARM: job.arm.name,
            CHANGED: ",".join(job.arm.changed),
            SEED: str(job.seed),
            **({DATASET: job.dataset} if job.dataset else {}),
        },
    }


def bookkeeping_overrides(tracking: dict[str, Any]) -> list[str]:
    """``tracking_settings`` as Hydra overrides."""
    uri, parent, tags = tracking["uri"], tracking["parent_run_id"], tracking["tags"]
    return tracking_overrides(uri, parent, tags, tracking["experiment"])
