"""Reads the ``study`` config node into a checked StudySpec, resolving baseline values.

A study key is either a config group (``optimizer``: its value is an option name, i.e. a YAML
file) or a config value (``optimizer.learning_rate``). Every name is checked against what
Hydra can load, so a typo fails here, before anything trains or is written to MLflow.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablab.config.groups import RUN_GROUPS
from ablab.errors import ConfigError
from ablab.stats.sequential import SeedSchedule, read_schedule
from ablab.study.datasets import KEY as DATASET_KEY
from ablab.study.datasets import check_shared_metric, read_datasets
from ablab.study.design import DESIGNS, check_factors, check_seeds
from ablab.study.fractional_design import DEFAULT_RESOLUTION
from ablab.study.screening_keys import read_screening
from ablab.study.target import read_target

_ABSENT = object()
# What a study node may hold (conf/study/*.yaml, README "Studies").
STUDY_KEYS = (
    "name", "design", "seeds", "baseline", "factors", "target", "rerun", "metric", "direction", "margin",
    "datasets", "resolution", "confirm",
)  # fmt: skip


@dataclass(frozen=True)
class StudySpec:
    name: str
    design: str
    seeds: list[int]
    baseline: dict[str, Any]  # every baseline and factor key -> its baseline value
    factors: dict[str, list[Any]]
    groups: frozenset[str]  # which of the keys are config groups
    rerun: bool
    metric: str = "test_accuracy"  # the final metric the report compares
    direction: str = "maximize"  # maximize | minimize: which way is "better"
    margin: float | None = None  # equivalence margin in the metric's units (None: the report's default)
    schedule: SeedSchedule | None = None  # adaptive seeds; ``seeds`` is then its first round
    target: dict[str, Any] | None = None  # design path: key -> target value (ablab.study.target)
    datasets: tuple[str, ...] = ()  # study.datasets: the design runs on each (empty: the config's)
    resolution: int = DEFAULT_RESOLUTION  # fractional design: the fraction's resolution (study.resolution)
    confirm: bool = False  # fractional design: rerun the factors that screen in as ofat (study.confirm)


def read_study(
    config: DictConfig,
    group_options: Callable[[str], Sequence[str]],
    command_line_keys: Sequence[str],
    dataset_config: Callable[[str], DictConfig] | None = None,
) -> StudySpec:
    """Check ``config.study`` and fill baseline values the study leaves to the defaults.

    ``group_options(key)`` lists a group's options (empty when ``key`` is not a group);
    ``command_line_keys`` are the keys overridden on the command line, which apply to every
    arm and so must not be a study key or the seed; ``dataset_config(option)`` composes the
    config on one of study.datasets, whose tasks decide the metric.
    """
    study = config.get("study")
    if not isinstance(study, DictConfig):
        raise ConfigError(
            "The ablation sweeper needs a study: choose a preset (study=seed) or write one in "
            "conf/study/ with study.name, study.design, study.seeds, study.baseline, study.factors."
        )
    raw = OmegaConf.to_container(study, resolve=True)
    unknown = set(raw) - set(STUDY_KEYS)
    if unknown:
        raise ConfigError(
            f"study has unknown keys {sorted(unknown)}; allowed: {', '.join(STUDY_KEYS)}."
        )
    name = raw.get("name")
    if not isinstance(name, str) or not name.strip():
        raise ConfigError(f"study.name={name!r} must be a non-empty string (it names the experiment).")
    design = raw.get("design")
    if design not in DESIGNS:
        raise ConfigError(f"study.design={design!r} is not a design; allowed: {', '.join(DESIGNS)}.")
    schedule = read_schedule(raw["seeds"]) if isinstance(raw.get("seeds"), dict) else None
    seeds = schedule.seeds_at_look(0) if schedule else check_seeds(raw.get("seeds") or [])
    margin = raw.get("margin")
    numeric = isinstance(margin, int | float) and not isinstance(margin, bool)
    if margin is not None and (not numeric or margin <= 0):
        raise ConfigError(
            f"study.margin={margin!r} must be a positive number in the metric's units (e.g. 0.01 = 1 "
            "percentage point of accuracy), or null for the report's default."
        )
    factors = raw.get("factors") or {}
    if not isinstance(factors, dict):
        raise ConfigError(f"study.factors={factors!r} must map keys to lists of alternatives.")
    declared_baseline = raw.get("baseline") or {}
    study_keys = [*declared_baseline, *factors]
    datasets = read_datasets(raw, group_options(DATASET_KEY), study_keys, command_line_keys)

    groups = set()
    baseline: dict[str, Any] = {}
    for key in [*declared_baseline, *factors]:
        options = list(group_options(key))
        if options:
            groups.add(key)
            default = config.hydra.runtime.choices.get(key)
            values = [declared_baseline.get(key, default), *factors.get(key, [])]
            bad = [v for v in values if v not in options]
            if bad:
                raise ConfigError(
                    f"study key {key!r}: option(s) {bad} not found in conf/{key}/; "
                    f"allowed: {', '.join(sorted(options))}."
                )
        else:
            default = OmegaConf.select(config, key, default=_ABSENT)
            if default is _ABSENT or key.split(".")[0] in ("hydra", "study", "tracking"):
                raise ConfigError(
                    f"study key {key!r} is neither a config group nor a config value; use a group "
                    f"({', '.join(RUN_GROUPS)}) or a dotted key such as "
                    "optimizer.learning_rate or trainer.epochs."
                )
            if isinstance(default, DictConfig | list) or OmegaConf.is_config(default):
                default = OmegaConf.to_container(default, resolve=True)
        baseline[key] = declared_baseline.get(key, default)

    check_factors(baseline, factors)
    target = read_target(raw.get("target"), design, baseline, factors, group_options)
    screening = read_screening(raw, design, len(factors))
    clashes = [k for k in command_line_keys if k in baseline or k == "trainer.seed"]
    if clashes:
        raise ConfigError(
            f"command-line override(s) of {clashes} clash with the study: set study keys in "
            "study.baseline / study.factors and seeds in study.seeds; other overrides apply to every arm."
        )
    configs = {d: dataset_config(d) for d in datasets} if datasets and dataset_config else {}
    chosen = _metric_and_direction(raw, next(iter(configs.values()), config))
    if configs:
        check_shared_metric(chosen["metric"], bool(raw.get("metric")), configs)
    return StudySpec(
        name=name,
        design=design,
        seeds=seeds,
        baseline=baseline,
        factors={k: list(v) for k, v in factors.items()},
        groups=frozenset(groups),
        rerun=bool(raw.get("rerun", False)),
        **chosen,
        margin=None if margin is None else float(margin),
        schedule=schedule,
        target=target,
        datasets=datasets,
        **screening,
    )


def _metric_and_direction(raw: dict[str, Any], config: DictConfig) -> dict[str, str]:
    """``study.metric`` (default: the task's, test_accuracy or test_mse) and ``study.direction``
    (default: the known direction of that metric); a metric the run's task never logs is refused."""
    from ablab.config.tasks import METRIC_DIRECTIONS, final_metric_names, task_of

    task = task_of(config)
    metric = raw.get("metric") or task.default_metric
    allowed = final_metric_names(task)
    if metric not in allowed:
        raise ConfigError(
            f"study.metric={metric!r} is not a final metric of dataset.task={task.name!r}; "
            f"allowed: {', '.join(allowed)}."
        )
    direction = raw.get("direction") or METRIC_DIRECTIONS.get(metric)
    if direction not in ("maximize", "minimize"):
        raise ConfigError(
            f"study.direction={raw.get('direction')!r} for study.metric={metric!r}: allowed: maximize "
            "(higher is better), minimize (lower is better)."
        )
    return {"metric": metric, "direction": direction}
