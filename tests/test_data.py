"""The MNIST sets load as raw-pixel images with one-hot labels, split as the seed did."""

from __future__ import annotations

import numpy as np
import pytest

from ablab.datasets import load_dataset
from ablab.errors import DatasetUnavailable
from conftest import compose_run


def dataset_cfg(*overrides):
    cfg, _ = compose_run(list(overrides))
    return cfg.dataset


@pytest.fixture(scope="module")
def mnist_5k():
    return load_dataset(dataset_cfg())


def test_mnist_5k_is_a_stratified_70_30_split_of_raw_pixels(mnist_5k):
    assert mnist_5k.x_train.shape == (3500, 28, 28, 1) and mnist_5k.x_test.shape == (1500, 28, 28, 1)
    assert mnist_5k.x_train.dtype == np.float32
    assert mnist_5k.x_train.min() == 0 and mnist_5k.x_train.max() == 255  # not rescaled
    assert (mnist_5k.y_train.sum(axis=1) == 1).all()
    assert mnist_5k.y_train.sum(axis=0).tolist() == [350] * 10
    assert mnist_5k.y_test.sum(axis=0).tolist() == [150] * 10


def test_mnist_5k_split_follows_random_state(mnist_5k):
    other = load_dataset(dataset_cfg("dataset.random_state=8"))
    assert other.y_test.sum(axis=0).tolist() == [150] * 10
    assert not np.array_equal(mnist_5k.x_test, other.x_test)


def write_npz(path, n_train=300, n_test=50, **drop):
    rng = np.random.default_rng(0)
    arrays = {
        "x_train": rng.integers(0, 256, (n_train, 28, 28), dtype=np.uint8),
        "y_train": np.arange(n_train) % 10,
        "x_test": rng.integers(0, 256, (n_test, 28, 28), dtype=np.uint8),
        "y_test": np.arange(n_test) % 10,
    }
    np.savez(path, **{k: v for k, v in arrays.items() if k not in drop})
    return path


def test_local_npz_keeps_the_seeds_third_of_train(tmp_path):
    path = write_npz(tmp_path / "mnist.npz")
    splits = load_dataset(dataset_cfg("dataset=mnist", f"dataset.path={path}"))
    assert splits.x_train.shape == (99, 28, 28, 1)  # 300 - round(0.67 * 300)
    assert splits.x_test.shape == (50, 28, 28, 1)  # the official test set, untouched
    assert splits.y_test.argmax(axis=1).tolist() == (np.arange(50) % 10).tolist()


def test_local_npz_without_the_keras_layout_names_what_is_missing(tmp_path):
    path = write_npz(tmp_path / "odd.npz", y_test=True)
    with pytest.raises(DatasetUnavailable, match=r"lacks the arrays \['y_test'\]"):
        load_dataset(dataset_cfg("dataset=mnist", f"dataset.path={path}"))
