"""``study.datasets``: the whole design runs once per dataset option, with the same arm names, so
the report can compare each arm across datasets. Checked here before anything trains."""

from __future__ import annotations

import dataclasses
from collections.abc import Callable, Mapping, Sequence
from typing import Any

from omegaconf import DictConfig

from ablab.config.tasks import final_metric_names, task_of
from ablab.errors import ConfigError

KEY = "dataset"  # the config group a study's datasets are options of


def read_datasets(
    raw: Mapping[str, Any],
    options: Sequence[str],
    study_keys: Sequence[str],
    command_line_keys: Sequence[str],
) -> tuple[str, ...]:
    """``study.datasets`` checked: known options of conf/dataset/, each once, and no other place
    that sets the dataset (a study key, the command line); () when the study lists none."""
    datasets = raw.get("datasets")
    if datasets is None:
        return ()
    if isinstance(datasets, str) or not isinstance(datasets, Sequence) or not datasets:
        raise ConfigError(
            f"study.datasets={datasets!r} must be a non-empty list of dataset options, e.g. "
            "[mnist_5k, digits, wine]; leave it out to train on the config's dataset."
        )
    if raw.get("design") == "path":
        raise ConfigError(
            f"study.datasets={list(datasets)} with study.design='path' is not supported: each "
            "dataset would walk its own path, so there is no one path to compare across datasets. "
            "Run one path study per dataset (dataset=<option> on the command line)."
        )
    if raw.get("confirm"):
        raise ConfigError(
            f"study.datasets={list(datasets)} with study.confirm=true is not supported: which factors "
            "screen in differs by dataset, so there is no one confirmation round. Screen across the "
            "datasets without confirm, or confirm on each dataset in its own study."
        )
    unknown = [d for d in datasets if d not in options]
    if unknown:
        raise ConfigError(
            f"study.datasets lists {unknown}, not found in conf/dataset/; allowed: "
            f"{', '.join(sorted(options))}."
        )
    repeated = sorted({d for d in datasets if list(datasets).count(d) > 1})
    if repeated:
        raise ConfigError(f"study.datasets={list(datasets)} lists {repeated} twice; each dataset runs once.")
    clash = [k for k in study_keys if k == KEY]
    if clash:
        raise ConfigError(
            f"study.datasets={list(datasets)} and 'dataset' as a study.baseline or study.factors key "
            "both choose the dataset; with study.datasets the whole design runs on each dataset, so "
            "remove 'dataset' from study.baseline and study.factors."
        )
    if KEY in command_line_keys:
        raise ConfigError(
            f"dataset=... on the command line and study.datasets={list(datasets)} both choose the "
            "dataset; drop one (study.datasets runs the design on each of its datasets)."
        )
    return tuple(datasets)


def check_shared_metric(metric: str, explicit: bool, configs: Mapping[str, DictConfig]) -> None:
    """Every dataset must log the metric the study compares; a regression and a classification
    dataset share only the metrics their tasks both log (test_loss, ...), named in study.metric."""
    tasks = {name: task_of(cfg) for name, cfg in configs.items()}
    lacking = [name for name, task in tasks.items() if metric not in final_metric_names(task)]
    if not lacking:
        return
    shared = set.intersection(*(set(final_metric_names(task)) for task in tasks.values()))
    which = ", ".join(f"{name} ({task.name})" for name, task in tasks.items())
    source = "study.metric" if explicit else "the first dataset's default metric"
    raise ConfigError(
        f"study.datasets mixes tasks: {which}; {source} {metric!r} is not logged by "
        f"{', '.join(lacking)}. Set study.metric to one every dataset logs "
        f"({', '.join(sorted(shared))}), or run one study per task."
    )


def plan_on_datasets(spec: Any, plan: Callable[[list[str]], list], common_overrides: Sequence[str]) -> list:
    """The jobs of ``plan(common_overrides)`` once per study dataset (``dataset=<option>`` added to
    every job's overrides), each job knowing its dataset; the plan as is without study.datasets."""
    if not spec.datasets:
        return plan(list(common_overrides))
    jobs = []
    for dataset in spec.datasets:
        for job in plan([*common_overrides, f"{KEY}={dataset}"]):
            jobs.append(dataclasses.replace(job, dataset=dataset))
    return jobs
