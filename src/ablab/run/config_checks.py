"""The checks of a composed run config that need no TensorFlow: keys a typed group does not
have, out-of-range values, unknown names, missing files.

They run before TensorFlow is imported (``ablab-train`` refuses a bad value in about a second,
not after the 5-15 s import); ``ablab.run.validation`` adds the checks that ask Keras. Each
problem names the key, the bad value, where it came from (the command line or which option
file) and what is allowed.
"""

from __future__ import annotations

import difflib
import typing
from collections.abc import Mapping, Sequence
from dataclasses import fields, is_dataclass
from pathlib import Path
from typing import Any

from omegaconf import DictConfig, OmegaConf

from ablab.config.schema import ENGINES, TrainConfig
from ablab.config.tasks import TASKS
from ablab.datasets.scaling import SCALERS
from ablab.errors import ConfigError
from ablab.run.backends import backend_problem

# Keys the study sweeper adds to its jobs' typed groups (``+tracking.parent_run_id``): not user
# settings, so not in the schema (nor in --help or --cfg job).
BOOKKEEPING_KEYS = frozenset({"tracking.parent_run_id"})


class Sources:
    """Where a config value came from: the command line, else its group's option file."""

    def __init__(
        self, choices: Mapping[str, str], overrides: Sequence[str], set_by: str = "the command line"
    ) -> None:
        self.choices = choices
        self.command_line = {o.split("=", 1)[0].lstrip("+~") for o in overrides}
        self.set_by = set_by

    def __call__(self, key: str) -> str:
        group = key.split(".")[0]
        # A value set on the command line, or inside a node set there (not a group's option choice).
        set_there = [k for k in self.command_line if k not in self.choices]
        if any(key == k or key.startswith(f"{k}.") for k in set_there):
            return f" (from {self.set_by})"
        choice = self.choices.get(group)
        return f" (from conf/{group}/{choice}.yaml)" if choice else ""


def config_problems(cfg: DictConfig, sources: Sources) -> list[str]:
    """Every problem these checks find, one sentence each; empty when there is none."""
    problems: list[str] = []
    _check_unknown_keys(cfg, problems, sources)
    if problems:  # a misspelled key's value is missing from the checks below: stop here
        return problems
    _check_ranges(cfg, problems, sources)
    _check_data(cfg, problems, sources)
    return problems


def check_config(
    cfg: DictConfig,
    choices: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
    set_by: str = "the command line",
) -> None:
    """Raise one ConfigError listing every problem these checks find; ``overrides`` are the
    values ``set_by`` set (a study's job: its arm and the command line)."""
    problems = config_problems(cfg, Sources(choices or {}, overrides, set_by))
    if problems:
        raise ConfigError("Invalid config: " + " ".join(problems))


def _schema_keys(schema: type) -> dict[str, type | None]:
    """A typed group's keys, each with its own schema when it is a typed node (else None)."""
    hints = typing.get_type_hints(schema)
    return {f.name: hints[f.name] if is_dataclass(hints[f.name]) else None for f in fields(schema)}


def _check_unknown_keys(cfg: DictConfig, problems: list[str], sources: Sources) -> None:
    """A key Hydra's ``+`` added to a typed group (``+trainer.epoch=1``) would be ignored."""
    for group, schema in _schema_keys(TrainConfig).items():
        if schema is None or group not in cfg:
            continue  # an open node: dataset, model (a loader's or a builder's own arguments)
        known = _schema_keys(schema)
        for key in cfg[group]:
            full = f"{group}.{key}"
            if key in known or full in BOOKKEEPING_KEYS:
                continue
            close = difflib.get_close_matches(str(key), list(known), n=1)
            hint = f" Did you mean {group}.{close[0]}?" if close else ""
            problems.append(
                f"{full}={OmegaConf.select(cfg, full)!r}{sources(full)} is not a key of the {group} "
                f"group, so it would change nothing; its keys: {', '.join(known)}.{hint} ('+' adds "
                "keys only where a group takes any: dataset, model and the args of a group.)"
            )


def _check_range(problems: list[str], key: str, value: Any, ok: bool, allowed: str, source: str) -> None:
    if not ok:
        problems.append(f"{key}={value!r}{source} is out of range; allowed: {allowed}.")


def _check_ranges(cfg: DictConfig, problems: list[str], sources: Sources) -> None:
    trainer, dataset, model, reg = cfg.trainer, cfg.dataset, cfg.model, cfg.regularization
    rate = cfg.optimizer.learning_rate
    units = list(model.get("hidden_units", []))
    test_size = dataset.get("test_size")
    discard = dataset.get("train_discard", 0.0)
    checks = [
        ("trainer.epochs", trainer.epochs, trainer.epochs >= 1, "an integer >= 1"),
        ("trainer.batch_size", trainer.batch_size, trainer.batch_size >= 1, "an integer >= 1"),
        (
            "trainer.validation_split",
            trainer.validation_split,
            0.0 <= trainer.validation_split < 1.0,
            "0 <= validation_split < 1",
        ),
        ("trainer.verbose", trainer.verbose, trainer.verbose in (0, 1, 2), "0, 1 or 2"),
        (
            "trainer.steps_per_execution",
            trainer.steps_per_execution,
            trainer.steps_per_execution >= 1,
            "an integer >= 1",
        ),
        (
            "trainer.threads",
            trainer.threads,
            trainer.threads is None or trainer.threads >= 1,
            "null (automatic) or an integer >= 1",
        ),
        ("optimizer.learning_rate", rate, rate > 0, "a number > 0"),
        ("model.hidden_units", units, all(u >= 1 for u in units), "integers >= 1"),
        (
            "dataset.test_size",
            test_size,
            test_size is None or 0.0 < test_size < 1.0,
            "null (official test set) or 0 < test_size < 1",
        ),
        ("dataset.train_discard", discard, 0.0 <= discard < 1.0, "0 <= train_discard < 1"),
        ("regularization.dropout", reg.dropout, 0.0 <= reg.dropout < 1.0, "0 <= dropout < 1 (0: off)"),
        ("regularization.l2", reg.l2, reg.l2 >= 0.0, "a number >= 0 (0: off)"),
        ("ensemble.size", cfg.ensemble.size, cfg.ensemble.size >= 1, "an integer >= 1 (1: a single model)"),
    ]
    for key, value, ok, allowed in checks:
        _check_range(problems, key, value, ok, allowed, sources(key))
    if trainer.engine not in ENGINES:
        problems.append(
            f"trainer.engine={trainer.engine!r}{sources('trainer.engine')} is not an engine; "
            f"allowed: {', '.join(ENGINES)}."
        )
    backend = backend_problem(trainer.backend, sources("trainer.backend"))
    if backend:
        problems.append(backend)
    if cfg.scaling.name not in SCALERS:
        problems.append(
            f"scaling.name={cfg.scaling.name!r}{sources('scaling.name')} is not a known scaling; "
            f"allowed: {', '.join(SCALERS)}."
        )


def _check_data(cfg: DictConfig, problems: list[str], sources: Sources) -> None:
    """The task is known, the data's ??? values are set, the data file exists."""
    task = cfg.dataset.get("task", "classification")
    if task not in TASKS:
        problems.append(
            f"dataset.task={task!r}{sources('dataset.task')} is not a task; allowed: {', '.join(TASKS)}."
        )
    elif task != "classification" and cfg.ensemble.size > 1:
        problems.append(f"ensemble.size={cfg.ensemble.size} votes on classes; dataset.task={task!r} takes 1.")
    missing = sorted(OmegaConf.missing_keys(cfg.dataset))  # full keys: dataset.path, ...
    if missing:
        problems.append(
            f"{', '.join(missing)}{sources(missing[0])} must be set (they are ???), "
            f"e.g. {missing[0]}=... on the command line."
        )
    path = cfg.dataset.get("path") if "dataset.path" not in missing else None
    if path is not None and not Path(path).expanduser().is_file():
        problems.append(
            f"dataset.path={path!r}{sources('dataset.path')} does not exist (resolved to "
            f"{Path(path).expanduser().resolve()}); "
            "give the path of an existing data file, or use dataset=mnist_5k (embedded)."
        )
