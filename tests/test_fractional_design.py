"""study.design=fractional: the arms of a two-level screening and the refusals of what it cannot run.

The design's properties are checked by multiplying its columns here, not with pyDOE's aliasing."""

import itertools

import numpy as np
import pytest
from hydra import compose, initialize_config_dir
from hydra.core.global_hydra import GlobalHydra

from ablab.errors import ConfigError
from ablab.stats.aliasing import alias_chains, resolution
from ablab.study.design import plan_arms
from ablab.study.fractional_design import plan_summary, screening_design
from ablab.study.spec import read_study
from conftest import CONF_DIR
from test_series_study import group_options

BASELINE = {
    "initializer": "random_uniform",
    "activation": "sigmoid",
    "optimizer": "sgd",
    "normalization": "none",
    "regularization": "none",
    "ensemble": "none",
}
FACTORS = {
    "initializer": ["he_normal"],
    "activation": ["relu"],
    "optimizer": ["adam"],
    "normalization": ["batchnorm"],
    "regularization": ["dropout"],
    "ensemble": ["soft_vote"],
}


def coded(arms, keys):
    return np.array([[1 if key in arm.changed else -1 for key in keys] for arm in arms])


def constant_products(design: np.ndarray, size: int) -> list[tuple[int, ...]]:
    """Sets of ``size`` columns whose product is the same on every row: words of the defining relation."""
    return [
        columns
        for columns in itertools.combinations(range(design.shape[1]), size)
        if len(set(np.prod(design[:, list(columns)], axis=1))) == 1
    ]


def test_six_factors_at_resolution_iv_run_16_arms_with_the_baseline_as_reference():
    arms = plan_arms(BASELINE, FACTORS, "fractional", 4)
    design = coded(arms, list(FACTORS))
    assert len(arms) == 16 and len({arm.name for arm in arms}) == 16
    assert arms[0].name == "baseline" and arms[0].reference and not arms[0].changed
    assert [arm.reference for arm in arms].count(True) == 1
    # Balanced and orthogonal: each factor on in half the arms, every pair of columns uncorrelated.
    assert (design.sum(axis=0) == 0).all()
    assert (design.T @ design == 16 * np.eye(6)).all()
    # Resolution IV: no product of 1-3 columns is constant; three of 4 columns are (I = ABCE = ...).
    assert not any(constant_products(design, size) for size in (1, 2, 3))
    assert len(constant_products(design, 4)) == 3
    assert resolution(design) == 4
    # Named by their changed factors, as the factorial design names its arms.
    both = next(arm for arm in arms if set(arm.changed) == {"initializer", "activation"})
    assert both.name == "initializer=he_normal,activation=relu"
    assert both.settings == {**BASELINE, "initializer": "he_normal", "activation": "relu"}
    assert both.changed["activation"] == ("sigmoid", "relu")


def test_resolution_v_makes_every_two_factor_interaction_its_own_column():
    design = screening_design(5, 5)
    assert design.shape == (16, 5) and (design[0] == -1).all()
    products = {tuple(np.prod(design[:, list(pair)], axis=1)) for pair in itertools.combinations(range(5), 2)}
    mains = {tuple(design[:, column]) for column in range(5)}
    assert len(products) == 10 and not products & mains  # 10 distinct interactions, clear of the mains
    chains, defining = alias_chains(design)
    assert defining is not None and defining.terms == [(0, 1, 2, 3, 4)]
    assert all(chain.order <= 2 for chain in chains) and len(chains) == 15


def test_the_plan_line_gives_the_resolution_and_the_runs_saved():
    arms = plan_arms(BASELINE, FACTORS, "fractional", 4)
    line = plan_summary(arms, list(FACTORS), 3)
    assert "resolution IV, 16 of the 64 arms" in line
    assert "48 runs instead of 192: 144 runs saved (25% of the full factorial's)" in line


@pytest.mark.parametrize(
    ("factors", "resolution_value", "said"),
    [
        ({"initializer": ["he_normal"], "activation": ["relu"]}, 3, "needs at least 3 factors"),
        (FACTORS, 7, "study.resolution=7 is not a resolution 6 factors can have"),
        (FACTORS, 2, "allowed: an integer from 3 to 6"),
        (FACTORS, "IV", "study.resolution='IV'"),
        ({**FACTORS, "activation": ["relu", "tanh"]}, 4, "gives activation more"),
    ],
)
def test_what_a_fraction_cannot_run_is_refused_in_one_paragraph(factors, resolution_value, said):
    with pytest.raises(ConfigError, match=said) as refused:
        plan_arms(BASELINE, factors, "fractional", resolution_value)
    assert "\n" not in str(refused.value)


def read(overrides):
    """The preset's spec, read as the sweeper reads it."""
    GlobalHydra.instance().clear()
    with initialize_config_dir(config_dir=str(CONF_DIR), version_base="1.3"):
        config = compose(
            config_name="train", overrides=["study=series_fractional", *overrides], return_hydra_config=True
        )
    return read_study(config, group_options, [])


def test_the_preset_reads_as_a_resolution_iv_screening_without_confirmation():
    spec = read([])
    assert (spec.design, spec.resolution, spec.confirm) == ("fractional", 4, False)
    assert read(["study.resolution=5", "study.confirm=true"]).resolution == 5


@pytest.mark.parametrize(
    ("overrides", "said"),
    [
        (["study.design=ofat"], "study.resolution=4 applies to study.design='fractional' only"),
        (["study.confirm=maybe"], "study.confirm='maybe' must be true"),
        (["study.resolution=8"], "study.resolution=8 is not a resolution 6 factors can have"),
        (["~study.seeds", "+study.seeds={start: 2, step: 2, max: 6}"], "needs every seed to run every arm"),
    ],
)
def test_bad_screening_keys_are_refused_before_anything_runs(overrides, said):
    with pytest.raises(ConfigError, match=said):
        read(overrides)
