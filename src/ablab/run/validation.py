"""Checks a composed run config before anything trains or touches MLflow.

Hydra's schemas catch wrong types and unknown keys at compose time; this module catches
what types cannot: out-of-range values, Keras identifiers Keras does not know, missing files.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping
from pathlib import Path
from typing import Any

import keras
from omegaconf import DictConfig, OmegaConf

from ablab._compat import keras_identifiers
from ablab.config.schema import ENGINES
from ablab.config.tasks import TASKS
from ablab.datasets.prepare import loader_import_problem
from ablab.datasets.scaling import SCALERS
from ablab.errors import ConfigError
from ablab.models.blocks import NORMALIZATION_LAYERS
from ablab.models.build import builder_import_problem


def _known(registry: Mapping[str, Any]) -> list[str]:
    """The snake_case identifiers of a Keras registry, the names users write in YAML."""
    return sorted(name for name in registry if name.islower() and "_" not in name[:1])


def _source(group: str, choices: Mapping[str, str]) -> str:
    choice = choices.get(group)
    return f" (from conf/{group}/{choice}.yaml)" if choice else ""


def _check_range(problems: list[str], key: str, value: Any, ok: bool, allowed: str) -> None:
    if not ok:
        problems.append(f"{key}={value!r} is out of range; allowed: {allowed}.")


def _check_ranges(cfg: DictConfig, problems: list[str]) -> None:
    trainer, dataset, model = cfg.trainer, cfg.dataset, cfg.model
    _check_range(problems, "trainer.epochs", trainer.epochs, trainer.epochs >= 1, "an integer >= 1")
    _check_range(
        problems,
        "trainer.batch_size",
        trainer.batch_size,
        trainer.batch_size >= 1,
        "an integer >= 1",
    )
    _check_range(
        problems,
        "trainer.validation_split",
        trainer.validation_split,
        0.0 <= trainer.validation_split < 1.0,
        "0 <= validation_split < 1",
    )
    _check_range(problems, "trainer.verbose", trainer.verbose, trainer.verbose in (0, 1, 2), "0, 1 or 2")
    if trainer.engine not in ENGINES:
        problems.append(f"trainer.engine={trainer.engine!r} is not an engine; allowed: {', '.join(ENGINES)}.")
    _check_range(
        problems,
        "trainer.steps_per_execution",
        trainer.steps_per_execution,
        trainer.steps_per_execution >= 1,
        "an integer >= 1",
    )
    _check_range(
        problems,
        "trainer.threads",
        trainer.threads,
        trainer.threads is None or trainer.threads >= 1,
        "null (automatic) or an integer >= 1",
    )
    lr = cfg.optimizer.learning_rate
    _check_range(problems, "optimizer.learning_rate", lr, lr > 0, "a number > 0")
    units = list(model.get("hidden_units", []))
    _check_range(problems, "model.hidden_units", units, all(u >= 1 for u in units), "integers >= 1")
    test_size = dataset.get("test_size")
    _check_range(
        problems,
        "dataset.test_size",
        test_size,
        test_size is None or 0.0 < test_size < 1.0,
        "null (official test set) or 0 < test_size < 1",
    )
    discard = dataset.get("train_discard", 0.0)
    _check_range(problems, "dataset.train_discard", discard, 0.0 <= discard < 1.0, "0 <= train_discard < 1")


def _check_data_and_model(cfg: DictConfig, problems: list[str], choices: Mapping[str, str]) -> None:
    """The loader and the builder import, the task is known, the data file exists."""
    for group, problem in (
        ("dataset", loader_import_problem(cfg.dataset.get("_target_"))),
        ("model", builder_import_problem(cfg.model.get("_target_"))),
    ):
        if problem:
            problems.append(f"{problem}{_source(group, choices)}.")
    task = cfg.dataset.get("task", "classification")
    if task not in TASKS:
        problems.append(
            f"dataset.task={task!r}{_source('dataset', choices)} is not a task; allowed: {', '.join(TASKS)}."
        )
    elif task != "classification" and cfg.ensemble.size > 1:
        problems.append(f"ensemble.size={cfg.ensemble.size} votes on classes; dataset.task={task!r} takes 1.")
    missing = sorted(OmegaConf.missing_keys(cfg.dataset))  # full keys: dataset.path, ...
    if missing:
        problems.append(
            f"{', '.join(missing)}{_source('dataset', choices)} must be set (they are ???), "
            f"e.g. {missing[0]}=... on the command line."
        )
    path = cfg.dataset.get("path") if "dataset.path" not in missing else None
    if path is not None and not Path(path).expanduser().is_file():
        problems.append(
            f"dataset.path={path!r}{_source('dataset', choices)} does not exist (resolved to "
            f"{Path(path).expanduser().resolve()}); "
            "give the path of an existing data file, or use dataset=mnist_5k (embedded)."
        )


def _check_keras_identifiers(cfg: DictConfig, problems: list[str], choices: Mapping[str, str]) -> None:
    init, act, opt = cfg.initializer, cfg.activation, cfg.optimizer
    init_args = OmegaConf.to_container(init.args, resolve=True)
    act_args = OmegaConf.to_container(act.args, resolve=True)
    opt_args = OmegaConf.to_container(opt.args, resolve=True)

    def report(group: str, name: str, args: Any, allowed: list[str], error: Exception) -> None:
        if name not in allowed:
            problems.append(
                f"{group}.name={name!r}{_source(group, choices)} is not a Keras {group} identifier; "
                f"allowed: {', '.join(allowed)}."
            )
        else:
            detail = str(error).splitlines()[0][:200]
            problems.append(
                f"{group}.args={args!r}{_source(group, choices)} are not accepted by Keras "
                f"{group} {name!r}: {detail}"
            )

    try:
        keras.initializers.get({"class_name": init.name, "config": init_args})
    except (ValueError, TypeError) as error:
        report("initializer", init.name, init_args, _known(keras_identifiers("initializers")), error)

    try:
        function = keras.activations.get(act.name)
        inspect.signature(function).bind(None, **act_args)
    except (ValueError, TypeError) as error:
        report("activation", act.name, act_args, _known(keras_identifiers("activations")), error)

    try:
        keras.optimizers.get(
            {"class_name": opt.name, "config": {"learning_rate": opt.learning_rate, **opt_args}}
        )
    except (ValueError, TypeError) as error:
        report("optimizer", opt.name, opt_args, _known(keras_identifiers("optimizers")), error)


def _check_series_factors(cfg: DictConfig, problems: list[str], choices: Mapping[str, str]) -> None:
    """Scaling, normalization, regularization and ensemble: the series' later factors."""
    scaling = cfg.scaling.name
    if scaling not in SCALERS:
        problems.append(
            f"scaling.name={scaling!r}{_source('scaling', choices)} is not a known scaling; "
            f"allowed: {', '.join(SCALERS)}."
        )
    reg = cfg.regularization
    _check_range(
        problems, "regularization.dropout", reg.dropout, 0.0 <= reg.dropout < 1.0, "0 <= dropout < 1 (0: off)"
    )
    _check_range(problems, "regularization.l2", reg.l2, reg.l2 >= 0.0, "a number >= 0 (0: off)")
    size = cfg.ensemble.size
    _check_range(problems, "ensemble.size", size, size >= 1, "an integer >= 1 (1: a single model)")

    name = cfg.normalization.name
    if name is None:
        return
    if name not in NORMALIZATION_LAYERS:
        problems.append(
            f"normalization.name={name!r}{_source('normalization', choices)} is not a Keras "
            f"normalization layer; allowed: null (none), {', '.join(NORMALIZATION_LAYERS)}."
        )
        return
    args = OmegaConf.to_container(cfg.normalization.args, resolve=True)
    widths = sorted({units for units in cfg.model.get("hidden_units", [8]) if units >= 1})
    try:
        for units in widths:  # building catches widths a layer cannot take (GroupNormalization)
            getattr(keras.layers, name)(**args).build((None, units))
    except (ValueError, TypeError) as error:
        detail = str(error).splitlines()[0][:200]
        problems.append(
            f"normalization.args={args!r}{_source('normalization', choices)} are not accepted by "
            f"keras.layers.{name} on hidden widths {widths}: {detail}"
        )


def validate(cfg: DictConfig, choices: Mapping[str, str] | None = None) -> None:
    """Raise one ConfigError listing every problem of ``cfg``; ``choices`` names group files."""
    choices = choices or {}
    problems: list[str] = []
    _check_ranges(cfg, problems)
    _check_data_and_model(cfg, problems, choices)
    _check_keras_identifiers(cfg, problems, choices)
    _check_series_factors(cfg, problems, choices)
    if problems:
        raise ConfigError("Invalid config: " + " ".join(problems))
