"""An .npz file of named arrays (``dataset=npz``; keras.datasets' mnist.npz has this layout).

Either x_train, y_train, x_test, y_test (the names configurable), or one x and y that are split
with ``test_size``. A missing, empty, truncated or corrupt file is a one-paragraph
DatasetUnavailable, never a traceback from numpy's zip reader.
"""

from __future__ import annotations

import zipfile
from pathlib import Path

import numpy as np

from ablab.errors import DatasetUnavailable

TRAIN_TEST = ("x_train", "y_train", "x_test", "y_test")


def read_arrays(path: str, names: tuple[str, ...]) -> list[np.ndarray]:
    """The arrays ``names`` of the .npz at ``path`` (dataset.path)."""
    file = Path(path).expanduser()
    if not file.is_file():
        raise DatasetUnavailable(
            f"dataset.path={path!r} does not exist (resolved to {file.resolve()}); give the path of an "
            f".npz file with the arrays {', '.join(names)}."
        )
    try:
        with np.load(file, allow_pickle=False) as arrays:
            missing = [name for name in names if name not in arrays.files]
            if missing:
                raise DatasetUnavailable(
                    f"dataset.path={path!r} lacks the arrays {missing}; it has {sorted(arrays.files)}. "
                    f"Expected {', '.join(names)} (keras.datasets' mnist.npz layout)."
                )
            return [arrays[name] for name in names]
    except DatasetUnavailable:
        raise
    except (OSError, ValueError, EOFError, zipfile.BadZipFile) as error:
        size = file.stat().st_size
        state = f"is not a readable .npz ({size} bytes: truncated or corrupt)"
        if size == 0:
            state = "is empty (0 bytes)"
        raise DatasetUnavailable(
            f"dataset.path={path!r} {state}: numpy could not read it ({type(error).__name__}: "
            f"{str(error).splitlines()[0][:200] if str(error) else 'no detail'}). Write it again with "
            f"numpy.savez(path, {'=..., '.join(names)}=...)."
        ) from None


def load(
    path: str,
    test_size: float | None = None,
    random_state: int = 7,
    x: str = "x",
    y: str = "y",
) -> tuple[np.ndarray, ...]:
    """Train/test arrays from the file; with ``test_size``, arrays ``x`` and ``y`` split randomly."""
    if test_size is None:
        return tuple(read_arrays(path, TRAIN_TEST))
    from sklearn.model_selection import train_test_split

    features, labels = read_arrays(path, (x, y))
    x_train, x_test, y_train, y_test = train_test_split(
        features, labels, test_size=test_size, random_state=random_state
    )
    return x_train, y_train, x_test, y_test
