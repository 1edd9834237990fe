"""validate() rejects what types cannot catch, naming the key, the bad value and what is allowed."""

from __future__ import annotations

import pytest
from hydra.errors import MissingConfigException

from ablab.errors import ConfigError
from ablab.models import build_model
from ablab.run.validation import validate
from conftest import compose_run


@pytest.mark.parametrize(
    ("override", "fragments"),
    [
        ("trainer.epochs=0", ["trainer.epochs=0", "an integer >= 1"]),
        ("trainer.validation_split=1.5", ["trainer.validation_split=1.5", "0 <= validation_split < 1"]),
        ("optimizer.learning_rate=-0.01", ["optimizer.learning_rate=-0.01", "a number > 0"]),
        ("trainer.batch_size=0", ["trainer.batch_size=0", "an integer >= 1"]),
        ("model.hidden_units=[8,0]", ["model.hidden_units=[8, 0]", "integers >= 1"]),
        ("dataset.train_discard=1.0", ["dataset.train_discard=1.0", "0 <= train_discard < 1"]),
    ],
)
def test_out_of_range_value(override, fragments):
    cfg, choices = compose_run([override])
    with pytest.raises(ConfigError) as raised:
        validate(cfg, choices)
    assert all(fragment in str(raised.value) for fragment in fragments), str(raised.value)


def test_every_problem_is_reported_at_once():
    cfg, choices = compose_run(["trainer.epochs=0", "optimizer.learning_rate=0"])
    with pytest.raises(ConfigError) as raised:
        validate(cfg, choices)
    assert "trainer.epochs=0" in str(raised.value) and "optimizer.learning_rate=0.0" in str(raised.value)


def test_missing_local_dataset_file_says_what_to_do(tmp_path):
    missing = tmp_path / "nonexistent.npz"
    cfg, choices = compose_run(["dataset=mnist", f"dataset.path={missing}"])
    with pytest.raises(ConfigError) as raised:
        validate(cfg, choices)
    message = str(raised.value)
    assert f"dataset.path='{missing}'" in message and "does not exist" in message
    assert "dataset=mnist_5k" in message and "conf/dataset/mnist.yaml" in message


def test_unknown_keras_identifier_in_a_user_yaml_names_the_file(user_conf):
    (user_conf / "activation" / "mishh.yaml").write_text("name: mishh\nargs: {}\n")
    cfg, choices = compose_run(["activation=mishh"], config_dir=user_conf)
    with pytest.raises(ConfigError) as raised:
        validate(cfg, choices)
    message = str(raised.value)
    assert "activation.name='mishh' (from conf/activation/mishh.yaml)" in message
    assert "allowed:" in message and " mish," in message and "relu" in message


@pytest.mark.parametrize(
    ("group", "text", "fragment"),
    [
        ("initializer", "name: he_normall\nargs: {}\n", "initializer.name='he_normall'"),
        ("optimizer", "name: adamm\nlearning_rate: 0.001\nargs: {}\n", "optimizer.name='adamm'"),
    ],
)
def test_unknown_keras_identifier_in_other_groups(user_conf, group, text, fragment):
    (user_conf / group / "typo.yaml").write_text(text)
    cfg, choices = compose_run([f"{group}=typo"], config_dir=user_conf)
    with pytest.raises(ConfigError, match="allowed: ") as raised:
        validate(cfg, choices)
    assert f"{fragment} (from conf/{group}/typo.yaml)" in str(raised.value)


def test_argument_keras_does_not_accept_is_rejected():
    cfg, choices = compose_run(["optimizer=adam", "+optimizer.args.momentum=0.9"])
    expected = r"optimizer.args=.*'momentum': 0.9.*not accepted by Keras optimizer 'adam'"
    with pytest.raises(ConfigError, match=expected):
        validate(cfg, choices)


def test_user_written_mish_just_works(user_conf):
    (user_conf / "activation" / "mish.yaml").write_text("name: mish\nargs: {}\n")
    cfg, choices = compose_run(["activation=mish", "model.hidden_units=[8]"], config_dir=user_conf)
    validate(cfg, choices)
    model = build_model(cfg, (784,), 10)
    assert model.layers[1].activation.__name__ == "mish"
    assert model.count_params() == 784 * 8 + 8 + 8 * 10 + 10


@pytest.mark.parametrize(
    ("overrides", "fragments"),
    [
        (["regularization.dropout=1.0"], ["regularization.dropout=1.0", "0 <= dropout < 1"]),
        (["regularization.dropout=-0.1"], ["regularization.dropout=-0.1", "0 <= dropout < 1"]),
        (["regularization.l2=-0.001"], ["regularization.l2=-0.001", "a number >= 0"]),
        (["ensemble.size=0"], ["ensemble.size=0", "an integer >= 1"]),
        (
            ["scaling.name=minmax"],
            ["scaling.name='minmax' (from conf/scaling/none.yaml)", "allowed: none, unit, standardize"],
        ),
        (
            ["normalization=batchnorm", "normalization.name=BatchNorm"],
            [
                "normalization.name='BatchNorm'",
                "allowed: null (none), BatchNormalization,",
                "LayerNormalization",
            ],
        ),
        (
            ["normalization=batchnorm", "+normalization.args.groups=3"],
            ["normalization.args=", "'groups': 3", "not accepted by keras.layers.BatchNormalization"],
        ),
        (
            ["normalization.name=GroupNormalization", "+normalization.args.groups=3"],
            ["keras.layers.GroupNormalization on hidden widths [50]", "multiple"],
        ),
    ],
)
def test_bad_series_factor_is_named_with_what_is_allowed(overrides, fragments):
    cfg, choices = compose_run(overrides)
    with pytest.raises(ConfigError) as raised:
        validate(cfg, choices)
    assert all(fragment in str(raised.value) for fragment in fragments), str(raised.value)


@pytest.mark.parametrize("group", ["scaling", "normalization", "regularization", "ensemble"])
def test_unknown_option_of_a_series_group_lists_the_options(group):
    with pytest.raises(MissingConfigException) as raised:
        compose_run([f"{group}=nonesuch"])
    assert f"{group}/nonesuch" in str(raised.value) and "none" in str(raised.value)
