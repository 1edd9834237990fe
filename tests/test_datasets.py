"""Each built-in loader, chosen by dataset._target_, and the errors for data that cannot be used."""

from __future__ import annotations

import numpy as np
import pandas as pd
import pytest

from ablab.datasets import load_dataset
from ablab.errors import ConfigError, DatasetUnavailable
from conftest import compose_run


def dataset_cfg(*overrides):
    cfg, _ = compose_run(list(overrides))
    return cfg.dataset


def test_a_keras_colour_set_from_a_local_file_keeps_its_image_shape(tmp_path):
    rng = np.random.default_rng(0)
    path = tmp_path / "cifar10.npz"
    np.savez(
        path,
        x_train=rng.integers(0, 256, (40, 32, 32, 3), dtype=np.uint8),
        y_train=(np.arange(40) % 10).reshape(-1, 1),  # keras' cifar10 labels are a column
        x_test=rng.integers(0, 256, (20, 32, 32, 3), dtype=np.uint8),
        y_test=(np.arange(20) % 10).reshape(-1, 1),
    )
    splits = load_dataset(dataset_cfg("dataset=cifar10", f"dataset.path={path}"))
    assert splits.input_shape == (32, 32, 3) and splits.outputs == 10
    assert splits.y_test.argmax(axis=1).tolist() == (np.arange(20) % 10).tolist()


def test_npz_with_one_x_and_y_is_split_by_test_size(tmp_path):
    path = tmp_path / "mine.npz"
    np.savez(path, features=np.arange(40.0).reshape(20, 2), labels=np.arange(20) % 3)
    cfg = dataset_cfg("dataset=npz", f"dataset.path={path}", "dataset.x=features", "dataset.y=labels",
                      "dataset.test_size=0.25")  # fmt: skip
    splits = load_dataset(cfg)
    assert splits.x_train.shape == (15, 2) and splits.x_test.shape == (5, 2) and splits.outputs == 3
    rows = sorted(map(tuple, np.concatenate([splits.x_train, splits.x_test]).tolist()))
    assert rows == [(2.0 * i, 2.0 * i + 1) for i in range(20)]  # every row once, none lost


@pytest.mark.parametrize(
    ("content", "says"),
    [
        (b"", "is empty (0 bytes)"),
        (b"PK\x03\x04 this zip stops here", "truncated or corrupt"),
        (b"\x00\x01 not numpy at all", "truncated or corrupt"),
    ],
    ids=["empty", "truncated", "corrupt"],
)
def test_an_unreadable_npz_is_one_clear_paragraph(tmp_path, content, says):
    path = tmp_path / "bad.npz"
    path.write_bytes(content)
    with pytest.raises(DatasetUnavailable) as raised:
        load_dataset(dataset_cfg("dataset=mnist", f"dataset.path={path}"))
    message = str(raised.value)
    assert f"dataset.path='{path}'" in message and says in message and "numpy.savez" in message
    assert "\n" not in message


def test_a_truncated_copy_of_a_real_npz_is_refused(tmp_path):
    whole = tmp_path / "whole.npz"
    np.savez(whole, x_train=np.zeros((50, 4)), y_train=np.zeros(50), x_test=np.zeros((5, 4)), y_test=[0])
    cut = tmp_path / "cut.npz"
    cut.write_bytes(whole.read_bytes()[: whole.stat().st_size // 2])
    with pytest.raises(DatasetUnavailable, match="truncated or corrupt"):
        load_dataset(dataset_cfg("dataset=npz", f"dataset.path={cut}"))


def write_table(path, **columns):
    frame = pd.DataFrame(columns)
    if path.suffix == ".parquet":
        frame.to_parquet(path)
    else:
        frame.to_csv(path, index=False)
    return path


@pytest.mark.parametrize("suffix", [".csv", ".parquet"])
def test_a_table_gives_its_feature_columns_and_label(tmp_path, suffix):
    n = 20
    path = write_table(tmp_path / f"data{suffix}", a=np.arange(n), b=np.arange(n) * 2.0, y=np.arange(n) % 2,
                       note=np.arange(n) * 10)  # fmt: skip
    cfg = dataset_cfg("dataset=table", f"dataset.path={path}", "dataset.label=y", "dataset.features=[a,b]",
                      "dataset.task=binary", "dataset.test_size=0.5")  # fmt: skip
    splits = load_dataset(cfg)
    assert splits.x_train.shape == (10, 2) and splits.outputs == 1
    np.testing.assert_array_equal(splits.x_train[:, 1], splits.x_train[:, 0] * 2)
    np.testing.assert_array_equal(splits.y_train[:, 0], splits.x_train[:, 0] % 2)


def test_a_table_without_the_label_column_names_its_columns(tmp_path):
    path = write_table(tmp_path / "data.csv", a=[1, 2], b=[3, 4])
    with pytest.raises(ConfigError, match=r"dataset.label='target' is not a column .* columns: \['a', 'b'\]"):
        load_dataset(dataset_cfg("dataset=table", f"dataset.path={path}", "dataset.label=target"))


def test_a_table_with_text_features_names_the_columns(tmp_path):
    path = write_table(tmp_path / "data.csv", a=[1, 2, 3], colour=["red", "blue", "red"], y=[0, 1, 0])
    with pytest.raises(ConfigError, match=r"dataset.features \['colour'\] .* are not numeric \(e.g. 'red'\)"):
        load_dataset(dataset_cfg("dataset=table", f"dataset.path={path}", "dataset.label=y"))


@pytest.mark.parametrize(
    ("name", "features", "outputs", "task"),
    [("digits", 64, 10, "classification"), ("wine", 13, 3, "classification"),
     ("breast_cancer", 30, 1, "binary"), ("diabetes", 10, 1, "regression")],
)  # fmt: skip
def test_scikit_learn_bundled_sets_load_offline(name, features, outputs, task):
    cfg = dataset_cfg(f"dataset={name}")
    splits = load_dataset(cfg)
    assert cfg.task == task
    assert splits.input_shape == (features,) and splits.outputs == outputs
    total = len(splits.x_train) + len(splits.x_test)
    assert len(splits.x_test) == pytest.approx(0.3 * total, abs=1)


def test_real_valued_labels_are_refused_for_classification():
    expected = r"labels of dtype float64 such as \d+.0, not class numbers .*=regression"
    with pytest.raises(ConfigError, match=expected):
        load_dataset(dataset_cfg("dataset=diabetes", "dataset.task=classification"))


def test_binary_task_refuses_a_third_class():
    with pytest.raises(ConfigError, match=r"has class 2; dataset.task='binary' needs labels 0 and 1"):
        load_dataset(dataset_cfg("dataset=wine", "dataset.task=binary"))


def test_a_loader_that_does_not_import_is_named():
    with pytest.raises(ConfigError, match=r"dataset._target_='mypkg.nowhere.load' does not import"):
        load_dataset(dataset_cfg("dataset._target_=mypkg.nowhere.load"))
