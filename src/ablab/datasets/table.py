"""A CSV or Parquet table read by pandas: one label column, numeric feature columns."""

from __future__ import annotations

from collections.abc import Sequence
from pathlib import Path

import numpy as np
import pandas as pd

from ablab.errors import ConfigError, DatasetUnavailable


def _read(path: str) -> pd.DataFrame:
    file = Path(path).expanduser()
    if not file.is_file():
        raise DatasetUnavailable(
            f"dataset.path={path!r} does not exist (resolved to {file.resolve()}); "
            "give a .csv or .parquet file."
        )
    try:
        return pd.read_parquet(file) if file.suffix.lower() in (".parquet", ".pq") else pd.read_csv(file)
    except Exception as error:
        raise DatasetUnavailable(
            f"dataset.path={path!r} could not be read as a table ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200]})."
        ) from None


def load(
    path: str,
    label: str,
    features: Sequence[str] | None = None,
    test_size: float = 0.3,
    random_state: int = 7,
) -> tuple[np.ndarray, ...]:
    """Columns ``features`` (all but ``label`` when None) as x, ``label`` as y, split randomly."""
    from sklearn.model_selection import train_test_split

    frame = _read(path)
    columns = list(frame.columns)
    if label not in columns:
        raise ConfigError(f"dataset.label={label!r} is not a column of {path!r}; its columns: {columns}.")
    chosen = list(features) if features is not None else [c for c in columns if c != label]
    unknown = [c for c in chosen if c not in columns]
    if unknown:
        raise ConfigError(f"dataset.features {unknown} are not columns of {path!r}; its columns: {columns}.")
    text = [c for c in chosen if not pd.api.types.is_numeric_dtype(frame[c])]
    if text:
        raise ConfigError(
            f"dataset.features {text} of {path!r} are not numeric (e.g. {frame[text[0]].iloc[0]!r}); "
            "encode them as numbers first, or leave them out with dataset.features=[...]."
        )
    x, y = frame[chosen].to_numpy(), frame[label].to_numpy()
    x_train, x_test, y_train, y_test = train_test_split(x, y, test_size=test_size, random_state=random_state)
    return x_train, y_train, x_test, y_test
