"""Calls the configured loader and turns its raw arrays into the splits every engine trains on."""

from __future__ import annotations

import inspect
from dataclasses import dataclass
from typing import Any

import numpy as np
from hydra.utils import get_method, instantiate
from omegaconf import DictConfig, OmegaConf

from ablab.config.targets import target_import_problem
from ablab.config.tasks import encode_labels, task_of
from ablab.errors import ConfigError, DatasetUnavailable

RawSplits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]
# dataset.* keys ablab itself reads; every other key is an argument of the loader, and
# random_state (which also fixes train_discard's subsample) goes to loaders that take it.
ABLAB_KEYS = ("task", "train_discard")
LOADER_SIGNATURE = "load(**dataset_args) -> (x_train, y_train, x_test, y_test)"


@dataclass(frozen=True)
class Splits:
    """Train and test arrays: x float32 in the loader's shape, y encoded for the task."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray

    @property
    def input_shape(self) -> tuple[int, ...]:
        return tuple(self.x_train.shape[1:])

    @property
    def outputs(self) -> int:
        """How many outputs the model needs: classes, 1 for binary, targets for regression."""
        return int(self.y_train.shape[1])


def loader_import_problem(target: object) -> str | None:
    """Why ``dataset._target_`` names no importable loader (one sentence), or None."""
    return target_import_problem("dataset", target, "loader")


def _load_raw(cfg: DictConfig) -> RawSplits:
    problem = loader_import_problem(cfg.get("_target_"))
    if problem:
        raise ConfigError(f"{problem}. A loader is {LOADER_SIGNATURE}.")
    args: dict[str, Any] = OmegaConf.to_container(cfg, resolve=True)
    for key in ABLAB_KEYS:
        args.pop(key, None)
    if "random_state" not in inspect.signature(get_method(cfg._target_)).parameters:
        args.pop("random_state", None)
    try:
        arrays = instantiate(args, _convert_="all")
    except Exception as error:
        cause = error.__cause__ or error  # Hydra wraps the loader's own exception
        if isinstance(cause, ConfigError | DatasetUnavailable):
            raise cause from None
        raise DatasetUnavailable(
            f"dataset._target_={cfg._target_!r} raised {type(cause).__name__}: "
            f"{str(cause).splitlines()[0][:300]}"
        ) from error
    if not (isinstance(arrays, tuple | list) and len(arrays) == 4):
        raise ConfigError(
            f"dataset._target_={cfg._target_!r} returned {type(arrays).__name__}; a loader is "
            f"{LOADER_SIGNATURE}."
        )
    return tuple(np.asarray(a) for a in arrays)


def load_dataset(cfg: DictConfig) -> Splits:
    """Load through ``cfg._target_``, subsample the training part as configured, encode labels.

    ``cfg`` is the ``dataset`` node; the split is fixed by its ``random_state`` so every run of
    a study sees the same rows.
    """
    x_train, y_train, x_test, y_test = _load_raw(cfg)
    task = task_of(OmegaConf.create({"dataset": cfg}))
    where = f"dataset._target_={cfg._target_!r}"
    for x in (x_train, x_test):
        if not np.issubdtype(x.dtype, np.number) and x.dtype != bool:
            raise ConfigError(f"{where} gave non-numeric features (dtype {x.dtype}); they must be numbers.")
    y_train, y_test = encode_labels(task, y_train, y_test, where)
    if cfg.get("train_discard", 0) > 0:
        from sklearn.model_selection import train_test_split  # seconds to import: only where used

        x_train, _, y_train, _ = train_test_split(
            x_train, y_train, test_size=cfg.train_discard, random_state=cfg.get("random_state")
        )
    return Splits(
        x_train=x_train.astype(np.float32),
        y_train=y_train,
        x_test=x_test.astype(np.float32),
        y_test=y_test,
    )
