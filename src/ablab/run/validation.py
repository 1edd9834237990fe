"""Checks a composed run config before anything trains or touches MLflow: the TensorFlow-free
checks of ``ablab.run.config_checks``, then what only Keras can tell (its identifiers, a
normalization layer's arguments) and whether the user's loader and builder import.

Hydra's schemas catch wrong types at compose time; these catch what types cannot.
"""

from __future__ import annotations

import inspect
from collections.abc import Mapping, Sequence
from typing import Any

import keras
from omegaconf import DictConfig, OmegaConf

from ablab._compat import keras_identifiers
from ablab.datasets.prepare import loader_import_problem
from ablab.errors import ConfigError
from ablab.models.blocks import NORMALIZATION_LAYERS
from ablab.models.build import builder_import_problem
from ablab.run.config_checks import Sources, config_problems


def _known(registry: Mapping[str, Any]) -> list[str]:
    """The snake_case identifiers of a Keras registry, the names users write in YAML."""
    return sorted(name for name in registry if name.islower() and "_" not in name[:1])


def _check_keras_identifiers(cfg: DictConfig, problems: list[str], sources: Sources) -> None:
    init, act, opt = cfg.initializer, cfg.activation, cfg.optimizer
    init_args = OmegaConf.to_container(init.args, resolve=True)
    act_args = OmegaConf.to_container(act.args, resolve=True)
    opt_args = OmegaConf.to_container(opt.args, resolve=True)

    def report(group: str, name: str, args: Any, allowed: list[str], error: Exception) -> None:
        if name not in allowed:
            problems.append(
                f"{group}.name={name!r}{sources(group + '.name')} is not a Keras {group} identifier; "
                f"allowed: {', '.join(allowed)}."
            )
        else:
            detail = str(error).splitlines()[0][:200]
            problems.append(
                f"{group}.args={args!r}{sources(group + '.args')} are not accepted by Keras "
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


def _check_imports(cfg: DictConfig, problems: list[str], sources: Sources) -> None:
    """The loader and the builder import: a user's module may import TensorFlow itself."""
    for group, problem in (
        ("dataset", loader_import_problem(cfg.dataset.get("_target_"))),
        ("model", builder_import_problem(cfg.model.get("_target_"))),
    ):
        if problem:
            problems.append(f"{problem}{sources(group + '._target_')}.")


def _check_normalization(cfg: DictConfig, problems: list[str], sources: Sources) -> None:
    """A Keras normalization layer that takes its args on every hidden width."""
    name = cfg.normalization.name
    if name is None:
        return
    if name not in NORMALIZATION_LAYERS:
        problems.append(
            f"normalization.name={name!r}{sources('normalization.name')} is not a Keras "
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
            f"normalization.args={args!r}{sources('normalization.args')} are not accepted by "
            f"keras.layers.{name} on hidden widths {widths}: {detail}"
        )


def validate(
    cfg: DictConfig,
    choices: Mapping[str, str] | None = None,
    overrides: Sequence[str] = (),
    set_by: str = "the command line",
) -> None:
    """Raise one ConfigError listing every problem of ``cfg``: those of
    ``ablab.run.config_checks``, then those Keras finds. ``choices`` names the group files,
    ``overrides`` the command line's, so each problem says where its value came from."""
    sources = Sources(choices or {}, overrides, set_by)
    problems = config_problems(cfg, sources)
    if not problems:
        _check_imports(cfg, problems, sources)
        _check_keras_identifiers(cfg, problems, sources)
        _check_normalization(cfg, problems, sources)
    if problems:
        raise ConfigError("Invalid config: " + " ".join(problems))
