"""The private APIs of Keras, Hydra and its joblib launcher that ablab relies on, in one place.

Each has no public equivalent; when a release moves one, this module is the one to mend (the
tests that reach each path fail first). Imports are inside the functions: ``ablab-train --help``
must not pay for Keras.
"""

from __future__ import annotations

import logging
from collections.abc import Iterator, Mapping
from contextlib import contextmanager
from typing import Any


def keras_identifiers(kind: str) -> Mapping[str, Any]:
    """Every object Keras' ``<kind>.get`` resolves by name (``kind``: activations, initializers,
    optimizers): the names a config may write, for the error that lists them."""
    from keras.src import activations, initializers, optimizers

    return {"activations": activations, "initializers": initializers, "optimizers": optimizers}[
        kind
    ].ALL_OBJECTS_DICT


def joblib_parallel_options(options: dict[str, Any]) -> None:
    """Turn a joblib launcher config into ``joblib.Parallel`` options in place, as Hydra's joblib
    launcher does before its launch (loky reuses warm workers only for the same options)."""
    from hydra_plugins.hydra_joblib_launcher._core import process_joblib_cfg

    process_joblib_cfg(options)


def job_error(result: Any) -> str:
    """A failed Hydra job's error text: ``JobReturn.return_value`` would raise it instead."""
    return str(result._return_value)


def basic_launcher() -> Any:
    """Hydra's basic launcher (jobs one after another, in this process), to launch through."""
    from hydra._internal.core_plugins.basic_launcher import BasicLauncher

    return BasicLauncher()


# Where Hydra's launchers log each job's overrides (and joblib its Parallel options).
_LAUNCHER_LOGGERS = ("hydra._internal.core_plugins", "hydra_plugins.hydra_joblib_launcher")


@contextmanager
def quiet_hydra_launchers() -> Iterator[None]:
    """Hydra's launchers' INFO lines off the console for a launch whose jobs are not the ones
    the user asked for (a study's, a packing launcher's packs): their caller says what runs."""
    loggers = [logging.getLogger(name) for name in _LAUNCHER_LOGGERS]
    levels = [logger.level for logger in loggers]
    for logger in loggers:
        logger.setLevel(logging.WARNING)
    try:
        yield
    finally:
        for logger, level in zip(loggers, levels, strict=True):
            logger.setLevel(level)
