"""scikit-learn's bundled datasets, offline: digits, wine, breast_cancer, diabetes."""

from __future__ import annotations

import numpy as np

from ablab.errors import ConfigError

BUNDLED = ("digits", "wine", "breast_cancer", "diabetes")


def load(name: str, test_size: float, random_state: int) -> tuple[np.ndarray, ...]:
    """``sklearn.datasets.load_<name>()`` split randomly (stratified for class labels)."""
    if name not in BUNDLED:
        raise ConfigError(
            f"dataset.name={name!r} is not a bundled scikit-learn set; allowed: {', '.join(BUNDLED)}."
        )
    import sklearn.datasets
    from sklearn.model_selection import train_test_split

    x, y = getattr(sklearn.datasets, f"load_{name}")(return_X_y=True)
    stratify = y if name != "diabetes" else None
    x_train, x_test, y_train, y_test = train_test_split(
        x, y, test_size=test_size, random_state=random_state, stratify=stratify
    )
    return x_train, y_train, x_test, y_test
