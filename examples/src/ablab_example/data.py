"""This project's own loader: scikit-learn's diabetes table with a log-scaled target."""

from __future__ import annotations

import numpy as np


def load_diabetes_log(test_size: float, random_state: int) -> tuple[np.ndarray, ...]:
    """(x_train, y_train, x_test, y_test): ten features, target log(disease progression).

    A loader returns raw arrays; ablab checks the labels against ``dataset.task``, scales
    (``scaling=...``) and splits off validation rows itself.
    """
    from sklearn.datasets import load_diabetes
    from sklearn.model_selection import train_test_split

    x, y = load_diabetes(return_X_y=True)
    x_train, x_test, y_train, y_test = train_test_split(
        x, np.log(y), test_size=test_size, random_state=random_state
    )
    return x_train, y_train, x_test, y_test
