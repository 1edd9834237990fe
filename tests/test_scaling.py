"""Input scaling: statistics come from the rows model.fit trains on, never the validation tail
or the test set, and a constant feature is safe."""

from __future__ import annotations

import numpy as np
import pytest
from keras.src.trainers.data_adapters.array_slicing import train_validation_split

from ablab.datasets import Splits, load_dataset
from ablab.datasets.scaling import fit_rows, scale_splits
from conftest import compose_run


def splits(x_train, x_test):
    x_train, x_test = np.asarray(x_train, np.float32), np.asarray(x_test, np.float32)
    return Splits(
        x_train, np.eye(2)[np.arange(len(x_train)) % 2], x_test, np.eye(2)[np.arange(len(x_test)) % 2]
    )


@pytest.mark.parametrize(("n", "validation_split"), [(3500, 0.3), (10, 0.25), (7, 0.5), (9, 0.0)])
def test_fit_rows_are_the_rows_keras_trains_on(n, validation_split):
    x = np.arange(n)
    if validation_split:
        trained, _ = train_validation_split((x,), validation_split)
        assert fit_rows(n, validation_split) == len(trained[0])
    else:
        assert fit_rows(n, validation_split) == n


def test_standardize_fits_on_the_trained_rows_only():
    rng = np.random.default_rng(0)
    trained = rng.normal(10.0, 2.0, (70, 3))
    validation = rng.normal(500.0, 50.0, (30, 3))  # a tail unlike the trained rows
    test = rng.normal(-300.0, 9.0, (40, 3))
    original = splits(np.vstack([trained, validation]), test)
    scaled = scale_splits(original, "standardize", 0.3)

    np.testing.assert_allclose(scaled.x_train[:70].mean(axis=0), 0.0, atol=1e-5)
    np.testing.assert_allclose(scaled.x_train[:70].std(axis=0), 1.0, rtol=1e-5)
    trained32 = trained.astype(np.float32).astype(np.float64)
    mean, std = trained32.mean(axis=0), trained32.std(axis=0)
    np.testing.assert_allclose(scaled.x_test, (test.astype(np.float32) - mean) / std, rtol=1e-5)
    np.testing.assert_allclose(scaled.x_train[70:], (validation.astype(np.float32) - mean) / std, rtol=1e-5)
    assert scaled.x_train.dtype == scaled.x_test.dtype == np.float32
    assert scaled.y_train is original.y_train and scaled.y_test is original.y_test


def test_changing_test_or_validation_images_does_not_change_the_statistics():
    rng = np.random.default_rng(1)
    x_train, x_test = rng.integers(0, 256, (100, 5)), rng.integers(0, 256, (20, 5))
    reference = scale_splits(splits(x_train, x_test), "standardize", 0.3)
    other_tail = x_train.copy()
    other_tail[70:] = 255
    changed = scale_splits(splits(other_tail, np.full_like(x_test, 255)), "standardize", 0.3)
    np.testing.assert_array_equal(changed.x_train[:70], reference.x_train[:70])


def test_a_constant_feature_is_centred_not_divided_by_zero():
    x_train = np.array([[0, 1], [0, 3], [0, 5], [0, 7]])
    scaled = scale_splits(splits(x_train, [[9, 4], [0, 4]]), "standardize", 0.0)
    assert np.isfinite(scaled.x_train).all() and np.isfinite(scaled.x_test).all()
    np.testing.assert_array_equal(scaled.x_train[:, 0], 0.0)
    np.testing.assert_allclose(scaled.x_test[:, 0], [9.0, 0.0])  # std 1: only the mean is removed


def test_unit_divides_by_255_and_none_keeps_the_raw_pixels():
    raw = splits([[0, 255], [51, 102]], [[255, 0]])
    unit = scale_splits(raw, "unit", 0.3)
    np.testing.assert_allclose(unit.x_train, [[0.0, 1.0], [0.2, 0.4]], rtol=1e-6)
    np.testing.assert_allclose(unit.x_test, [[1.0, 0.0]])
    assert scale_splits(raw, "none", 0.3) is raw


def test_scaling_group_reaches_the_embedded_digits():
    cfg, _ = compose_run(["scaling=standardize"])
    data = load_dataset(cfg.dataset)
    scaled = scale_splits(data, cfg.scaling.name, cfg.trainer.validation_split)
    rows = fit_rows(len(data.x_train), cfg.trainer.validation_split)
    assert rows == 2450
    moving = scaled.x_train[:rows].std(axis=0) > 0
    np.testing.assert_allclose(scaled.x_train[:rows, moving].mean(axis=0), 0.0, atol=1e-4)
    assert np.isfinite(scaled.x_test).all()
    # MNIST's border pixels are blank in every trained image: they stay at 0, not NaN.
    assert (~moving).sum() > 0 and (scaled.x_train[:rows, ~moving] == 0).all()
