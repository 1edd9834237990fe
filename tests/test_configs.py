"""Every option file of every config group composes, is really selected, and validates.

Options are discovered from conf/<group>/*.yaml, so a newly added file is covered here
without touching this test.
"""

from __future__ import annotations

import dataclasses

import numpy as np
import pytest
from hydra.errors import ConfigCompositionException, MissingConfigException
from omegaconf import OmegaConf

from ablab.config.schema import TrainConfig
from ablab.run.validation import validate
from conftest import CONF_DIR, compose_run

# Folders of conf/ that are run groups: fields of the run schema. conf/study holds sweep
# presets (read by the sweeper, not by a run) and is covered by its own tests.
RUN_GROUPS = sorted(
    folder.name
    for folder in CONF_DIR.iterdir()
    if folder.is_dir()
    and folder.name in {f.name for f in dataclasses.fields(TrainConfig)}
    and folder.name != "study"
)
OPTIONS = [(group, path.stem) for group in RUN_GROUPS for path in sorted((CONF_DIR / group).glob("*.yaml"))]

# The minimum the issue asks for; the folders may hold more.
REQUIRED = {
    "initializer": {
        "random_uniform", "glorot_uniform", "glorot_normal", "he_normal", "he_uniform",
        "lecun_normal", "lecun_uniform", "orthogonal",
    },
    "activation": {"sigmoid", "tanh", "relu", "elu", "selu", "gelu", "leaky_relu", "swish"},
    "optimizer": {"sgd", "sgd_momentum", "rmsprop", "adagrad", "adam", "adamw", "nadam"},
    "dataset": {"mnist_5k", "mnist", "fashion_mnist"},
    "model": {"mlp"},
    "scaling": {"none", "unit", "standardize"},
    "normalization": {"none", "batchnorm", "layernorm"},
    "regularization": {"none", "dropout", "l2"},
    "ensemble": {"none", "soft_vote"},
    "trainer": {"default"},
}  # fmt: skip


def test_discovery_finds_every_required_option():
    found: dict[str, set[str]] = {}
    for group, option in OPTIONS:
        found.setdefault(group, set()).add(option)
    for group, options in REQUIRED.items():
        assert options <= found.get(group, set()), f"conf/{group}/ lacks {options - found.get(group, set())}"


def user_file_overrides(group: str, option: str, directory) -> list[str]:
    """The dataset options that read the user's own file get a tiny one."""
    if (group, option) == ("dataset", "npz"):
        np.savez(directory / "data.npz", x=np.zeros((4, 2)), y=np.arange(4) % 2)
        return [f"dataset.path={directory / 'data.npz'}"]
    if (group, option) == ("dataset", "table"):
        (directory / "data.csv").write_text("a,b,label\n1,2,0\n3,4,1\n")
        return [f"dataset.path={directory / 'data.csv'}", "dataset.label=label"]
    return []


@pytest.mark.parametrize(("group", "option"), OPTIONS, ids=[f"{g}={o}" for g, o in OPTIONS])
def test_every_option_composes_and_validates(group, option, tmp_path):
    cfg, choices = compose_run([f"{group}={option}", *user_file_overrides(group, option, tmp_path)])
    assert choices[group] == option
    written = OmegaConf.to_container(OmegaConf.load(CONF_DIR / group / f"{option}.yaml"))
    composed = OmegaConf.to_container(cfg[group])
    assert {key: composed[key] for key in written if written[key] != "???"} == {
        key: value for key, value in written.items() if value != "???"
    }
    validate(cfg, choices)


def test_defaults_reproduce_the_seed_baseline():
    cfg, choices = compose_run()
    assert {g: choices[g] for g in ("initializer", "activation", "optimizer", "dataset")} == {
        "initializer": "random_uniform",
        "activation": "sigmoid",
        "optimizer": "sgd",
        "dataset": "mnist_5k",
    }
    assert (cfg.optimizer.name, cfg.optimizer.learning_rate) == ("sgd", 0.001)
    assert cfg.optimizer.args.momentum == 0.0
    assert list(cfg.model.hidden_units) == [50, 50, 50, 50]
    assert cfg.model._target_ == "ablab.models.mlp.build_mlp"
    assert (cfg.trainer.epochs, cfg.trainer.batch_size, cfg.trainer.validation_split) == (100, 32, 0.3)
    assert (cfg.dataset.test_size, cfg.dataset.random_state, cfg.dataset.task) == (0.3, 7, "classification")
    assert cfg.tracking.experiment == "ablab"
    assert cfg.tracking.uri is None
    # The series' later factors are all off: raw pixels, no extra layers, one model.
    assert {g: choices[g] for g in ("scaling", "normalization", "regularization", "ensemble")} == {
        "scaling": "none",
        "normalization": "none",
        "regularization": "none",
        "ensemble": "none",
    }
    assert (cfg.scaling.name, cfg.normalization.name) == ("none", None)
    assert (cfg.regularization.dropout, cfg.regularization.l2, cfg.ensemble.size) == (0.0, 0.0, 1)


def test_seed_subset_of_keras_datasets_keeps_a_third_of_train():
    for dataset in ("mnist", "fashion_mnist"):
        cfg, _ = compose_run([f"dataset={dataset}"])
        assert (cfg.dataset.train_discard, cfg.dataset.random_state, cfg.dataset.path) == (0.67, 7, None)


def test_wrong_type_fails_at_compose_naming_key_value_and_type():
    with pytest.raises(ConfigCompositionException) as raised:
        compose_run(["trainer.epochs=abc"])
    cause = str(raised.value.__cause__)
    assert "trainer.epochs" in cause and "'abc'" in cause and "Integer" in cause


def test_unknown_key_fails_at_compose():
    with pytest.raises(ConfigCompositionException, match="trainer.epoch"):
        compose_run(["trainer.epoch=3"])


def test_unknown_option_lists_the_available_ones():
    with pytest.raises(MissingConfigException) as raised:
        compose_run(["optimizer=adamm"])
    message = str(raised.value)
    assert "optimizer/adamm" in message
    assert all(option in message for option in REQUIRED["optimizer"])
