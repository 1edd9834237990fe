"""Dataset loaders, chosen by ``dataset._target_`` (conf/dataset/*.yaml), and what ablab does
with any loader's arrays.

A loader is a function ``load(**dataset_args) -> (x_train, y_train, x_test, y_test)`` of raw
numpy arrays: images keep their shape (n, height, width, channels), tables are (n, features).
ablab then checks the labels against ``dataset.task``, keeps part of the training rows
(``dataset.train_discard``) and encodes the labels (``ablab.datasets.prepare``).
"""

from ablab.datasets.prepare import Splits, load_dataset

__all__ = ["Splits", "load_dataset"]
