"""study.seeds as a schedule and study.margin, read from the presets as the sweeper reads them."""

from __future__ import annotations

import pytest

from ablab.errors import ConfigError
from test_series_study import plan


def test_a_seed_schedule_runs_its_first_round_and_records_its_looks() -> None:
    spec, _ = plan("seed", "~study.seeds", "+study.seeds={start:3,step:2,max:9}", "+study.margin=0.02")
    assert spec.seeds == [0, 1, 2]
    assert spec.schedule is not None and spec.schedule.looks == [3, 5, 7, 9]
    assert spec.schedule.spending == "pocock" and spec.margin == 0.02


def test_a_list_of_seeds_has_no_schedule_and_no_margin_by_default() -> None:
    spec, _ = plan("seed")
    assert spec.seeds == [0, 1, 2] and spec.schedule is None and spec.margin is None


@pytest.mark.parametrize(
    ("override", "message"),
    [
        ("+study.margin=-1", "study.margin=-1 must be a positive number"),
        ("+study.margin=wide", "study.margin='wide' must be a positive number"),
        ("+study.seeds={start:3,max:9}", "a seed schedule is a mapping with start, step and max"),
        ("+study.seeds={start:3,step:2,max:9,spending:holm}", "study.seeds.spending='holm' is not allowed"),
    ],
)
def test_bad_margins_and_schedules_are_refused_by_name(override: str, message: str) -> None:
    replace_seeds = ["~study.seeds"] if override.startswith("+study.seeds") else []
    with pytest.raises(ConfigError, match=message.replace("(", r"\(").replace("[", r"\[")):
        plan("seed", *replace_seeds, override)
