"""Any ``keras.datasets`` set (mnist, fashion_mnist, cifar10, ...): from ``dataset.path`` (an .npz
with x_train, y_train, x_test, y_test) or from Keras' own cache (~/.keras/datasets), which
``load_data()`` reads without internet once the file is there."""

from __future__ import annotations

import numpy as np

from ablab.datasets import npz
from ablab.errors import DatasetUnavailable


def _as_images(x: np.ndarray) -> np.ndarray:
    """Grey-scale sets come as (n, h, w): give them their channel axis."""
    return x[..., np.newaxis] if x.ndim == 3 else x


def load(name: str, path: str | None = None) -> tuple[np.ndarray, ...]:
    if path is not None:
        x_train, y_train, x_test, y_test = npz.read_arrays(path, npz.TRAIN_TEST)
    else:
        import keras

        try:
            (x_train, y_train), (x_test, y_test) = getattr(keras.datasets, name).load_data()
        except Exception as error:
            raise DatasetUnavailable(
                f"dataset.name={name!r}: keras.datasets.{name}.load_data() failed ({error}). "
                f"Without internet, download {name}.npz elsewhere and pass "
                f"dataset.path=/path/to/{name}.npz, or use the embedded default dataset=mnist_5k."
            ) from error
    return _as_images(x_train), np.ravel(y_train), _as_images(x_test), np.ravel(y_test)
