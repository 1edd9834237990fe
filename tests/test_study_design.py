"""The four designs yield exactly the expected arms; bad studies fail before anything runs."""

import pytest

from ablab.errors import ConfigError
from ablab.study.design import check_seeds, plan_arms

BASELINE = {"initializer": "random_uniform", "activation": "sigmoid", "optimizer": "sgd"}
FACTORS = {"initializer": ["he_normal"], "activation": ["relu"], "optimizer": ["adam"]}


def names(design):
    return [arm.name for arm in plan_arms(BASELINE, FACTORS, design)]


def test_ofat_changes_one_factor_at_a_time():
    arms = plan_arms(BASELINE, FACTORS, "ofat")
    assert [a.name for a in arms] == [
        "baseline",
        "initializer=he_normal",
        "activation=relu",
        "optimizer=adam",
    ]
    assert [a.reference for a in arms] == [True, False, False, False]
    assert arms[2].settings == {**BASELINE, "activation": "relu"}
    assert arms[2].changed == {"activation": ("sigmoid", "relu")}


def test_leave_one_out_reverts_each_improvement_alone():
    arms = plan_arms(BASELINE, FACTORS, "leave_one_out")
    assert [a.name for a in arms] == ["all", "all but initializer", "all but activation", "all but optimizer"]
    assert arms[0].settings == {"initializer": "he_normal", "activation": "relu", "optimizer": "adam"}
    assert arms[2].settings == {"initializer": "he_normal", "activation": "sigmoid", "optimizer": "adam"}
    assert set(arms[2].changed) == {"initializer", "optimizer"}
    assert arms[0].reference and not any(a.reference for a in arms[1:])


def test_ladder_is_cumulative_in_the_given_order():
    arms = plan_arms(BASELINE, FACTORS, "ladder")
    assert [a.name for a in arms] == [
        "baseline",
        "+initializer=he_normal",
        "+activation=relu",
        "+optimizer=adam",
    ]
    assert arms[2].settings == {"initializer": "he_normal", "activation": "relu", "optimizer": "sgd"}
    assert list(arms[3].changed) == ["initializer", "activation", "optimizer"]


def test_factorial_is_the_full_grid():
    arms = plan_arms(BASELINE, FACTORS, "factorial")
    assert len(arms) == 8
    assert arms[0].name == "baseline" and arms[0].reference
    assert "initializer=he_normal,activation=relu,optimizer=adam" in [a.name for a in arms]
    assert len({tuple(sorted(a.settings.items())) for a in arms}) == 8


def test_ofat_with_several_alternatives_per_factor():
    arms = plan_arms({"activation": "sigmoid"}, {"activation": ["relu", "tanh"]}, "ofat")
    assert [a.name for a in arms] == ["baseline", "activation=relu", "activation=tanh"]


@pytest.mark.parametrize(
    ("factors", "design", "message"),
    [
        ({}, "ofat", "study.factors is empty"),
        ({"activation": []}, "ofat", "empty list"),
        ({"activation": ["sigmoid"]}, "ofat", "baseline's own value"),
        ({"activation": ["relu", "relu"]}, "ofat", "lists a value twice"),
        ({"activation": ["relu", "tanh"]}, "ladder", "exactly one alternative"),
        ({"activation": ["relu"]}, "grid", "allowed: ofat, leave_one_out, ladder, factorial"),
    ],
)
def test_bad_studies_are_refused(factors, design, message):
    with pytest.raises(ConfigError, match=message):
        plan_arms(BASELINE, factors, design)


def test_seeds_must_be_distinct_integers():
    assert check_seeds([0, 1, 2]) == [0, 1, 2]
    with pytest.raises(ConfigError, match=r"repeats \[1\]"):
        check_seeds([0, 1, 1])
    with pytest.raises(ConfigError, match="non-empty list of integers"):
        check_seeds([])
