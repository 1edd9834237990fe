"""A study arm that builds the same model, optimizer and data as another arm is refused before
anything trains, naming the factor; the decision comes from the built model, not the YAML."""

from __future__ import annotations

import pytest

from ablab.errors import ConfigError
from ablab.models.fingerprint import Fingerprints
from ablab.study.dead_factors import refuse_dead_factors
from ablab.study.design import Arm
from conftest import all_runs, compose_run, run_cli, sqlite_uri

IGNORES_ACTIVATION = '''
import keras


def build(blocks, input_shape, outputs, units=8):
    """Its hidden layer is always relu: the activation group never reaches it."""
    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(),
                             keras.layers.Dense(units, activation="relu"), *blocks.head(outputs)])
'''

DEAD_STUDY = """\
# @package _global_
defaults:
  - override /hydra/sweeper: ablation
  - override /hydra/launcher: basic
  - override /model: fixed
study:
  name: dead
  design: ofat
  seeds: [0, 1]
  baseline: {activation: sigmoid, optimizer: sgd}
  factors: {activation: [relu], optimizer: [adam]}
trainer: {epochs: 1, verbose: 0}
hydra:
  mode: MULTIRUN
"""


@pytest.fixture
def user_project(workdir, monkeypatch):
    (workdir / "fixednet.py").write_text(IGNORES_ACTIVATION)
    monkeypatch.syspath_prepend(str(workdir))
    for folder, name, text in (("model", "fixed", "_target_: fixednet.build\n"), ("study", "dead", DEAD_STUDY)):  # noqa: E501
        (workdir / "conf" / folder).mkdir(parents=True, exist_ok=True)
        (workdir / "conf" / folder / f"{name}.yaml").write_text(text)
    return workdir


BASELINE = {"initializer": "random_uniform", "activation": "sigmoid", "optimizer": "sgd",
            "regularization": "none", "scaling": "none"}  # fmt: skip


def arms_of(*overrides: str, common: tuple[str, ...] = ()):
    """(Arm, composed config): the baseline, then one arm per ``group=option`` override."""
    arms = [(Arm("baseline", {}, {}, reference=True), compose_run(common)[0])]
    for override in overrides:
        group, option = override.split("=")
        changed = {group: (BASELINE[group], option)}
        arms.append((Arm(override, {}, changed), compose_run([*common, override])[0]))
    return arms


def test_every_factor_of_the_seed_study_changes_the_built_mlp():
    factors = ("initializer=he_normal", "activation=relu", "optimizer=adam", "regularization=l2")
    arms = arms_of(*factors, "scaling=unit")
    refuse_dead_factors(arms, Fingerprints())  # nothing raised: each arm trains something else


def test_a_builder_that_ignores_the_activation_makes_it_a_dead_factor(user_project):
    arms = arms_of("activation=relu", "optimizer=adam", common=("model=fixed",))
    with pytest.raises(ConfigError) as raised:
        refuse_dead_factors(arms, Fingerprints())
    message = str(raised.value)
    expected = "arm 'activation=relu' (changes activation: sigmoid -> relu) trains the same as arm 'baseline'"
    assert expected in message
    assert "optimizer=adam" not in message  # the optimizer does change what is trained


def test_the_study_stops_before_training_and_names_the_dead_factor(user_project, monkeypatch, capsys):
    code = run_cli(monkeypatch, "study=dead", f"hydra.sweep.dir={user_project}/multirun")
    err = capsys.readouterr().err
    assert code == 2
    assert "Dead factor(s): arm 'activation=relu' (changes activation: sigmoid -> relu)" in err
    assert all_runs(sqlite_uri(user_project)) == []  # no parent, no child: nothing was written


def test_activation_arguments_count_even_where_keras_cannot_serialize_them():
    """leaky_relu with arguments is a functools.partial: get_config() fails, its repr differs."""
    fingerprints = Fingerprints()

    def slope(value):
        cfg, _ = compose_run(["activation=leaky_relu", f"activation.args.negative_slope={value}"])
        return fingerprints(cfg)

    assert slope(0.1) != slope(0.3)
    assert slope(0.3) == slope(0.3)
    assert slope(0.3).unread  # the Dense layers with that activation: read through its repr only


UNSERIALIZABLE_LAYER = '''
import keras


class Factor:
    """A plain object: Keras cannot serialize a layer that is given one."""

    def __init__(self, value):
        self.value = value


class Scale(keras.layers.Layer):
    def __init__(self, factor, **kwargs):
        super().__init__(**kwargs)
        self.factor = factor

    def call(self, x):
        return x * self.factor.value


def build(blocks, input_shape, outputs, factor=1.0):
    return keras.Sequential([keras.Input(input_shape), keras.layers.Flatten(), Scale(Factor(factor)),
                             *blocks.hidden(blocks.dense(4)), *blocks.head(outputs)])
'''


def test_arms_that_differ_only_where_keras_cannot_read_are_not_refused(workdir, monkeypatch, caplog):
    """Two arms whose only difference is a custom layer's argument: the fingerprints match as far
    as they read, so the check warns, names the layer, and lets the study run."""
    (workdir / "scalenet.py").write_text(UNSERIALIZABLE_LAYER)
    monkeypatch.syspath_prepend(str(workdir))
    (workdir / "conf" / "model").mkdir(parents=True, exist_ok=True)
    (workdir / "conf" / "model" / "scaled.yaml").write_text("_target_: scalenet.build\nfactor: 1.0\n")
    common = ("model=scaled", "dataset=digits")
    baseline = (Arm("baseline", {}, {}, reference=True), compose_run(common)[0])
    changed = {"model.factor": (1.0, 2.0)}
    other = (Arm("model.factor=2.0", {}, changed), compose_run([*common, "model.factor=2.0"])[0])
    fingerprints = Fingerprints()
    assert fingerprints(baseline[1]).digest == fingerprints(other[1]).digest
    assert fingerprints(baseline[1]).unread == ("scale (Scale)",)
    with caplog.at_level("WARNING", logger="ablab.study.dead_factors"):
        refuse_dead_factors([baseline, other], fingerprints)  # not refused
    assert "Possibly a dead factor: arm 'model.factor=2.0'" in caplog.text
    assert "layer(s) scale (Scale)" in caplog.text
