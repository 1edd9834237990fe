"""``study.confirm``: after a fractional screening, the factors that screened in (main effect
Holm-significant in the better direction) are rerun as an ofat round, each alone against the
baseline. The screening is the report's own (``ablab.report.screening``), from what MLflow holds."""

from __future__ import annotations

import json
from collections.abc import Callable

from mlflow.tracking import MlflowClient

from ablab.stats.comparisons import ALPHA
from ablab.stats.screening import MAIN, Screening
from ablab.study.design import Arm, plan_arms
from ablab.study.spec import StudySpec
from ablab.tracking.tags import CONFIRM


def launch_screening(client: MlflowClient, parent_run_id: str, alpha: float = ALPHA) -> Screening | None:
    """The screening of a launch's runs so far, as the report computes it."""
    from ablab.report.launch_record import load_launch
    from ablab.report.metric import launch_scores
    from ablab.report.screening import screen_launch

    launch = load_launch(client, client.get_run(parent_run_id))
    choice, runs = launch_scores(client, launch.finished, launch.parent_tags)
    return screen_launch(launch, runs, choice.higher_is_better, 100.0 if choice.fraction else 1.0, alpha)


def confirmation_round(
    client: MlflowClient, spec: StudySpec, parent_run_id: str, look: int, plan_round: Callable[..., list]
) -> list:
    """After the screening (the first round), the jobs of the confirmation round; none without
    ``study.confirm`` or when no factor screened in (said, and recorded for the report)."""
    if not spec.confirm or look != 1:
        return []
    screening = launch_screening(client, parent_run_id)
    if screening is None:
        print("Confirmation: no screening (it needs 2 seeds that finished every arm); no confirmation round.")
        return []
    print("Screening, main effects (Δ high − low [95% CI], Holm across the effects):")
    mains = screening.effects[screening.effects["kind"] == MAIN]
    for _, row in mains.iterrows():
        print(
            f"  {row['term']}: Δ {row['delta']:+.3g} [{row['ci_low']:+.3g}, {row['ci_high']:+.3g}], "
            f"p (Holm) {row['p_holm']:.3g}: {row['verdict']}"
        )
    factors = screening.screened_in()
    singles = _alone(spec, factors)
    design = {arm.name for arm in plan_arms(spec.baseline, spec.factors, spec.design, spec.resolution)}
    added = [arm.name for arm in singles if arm.name not in design]
    record = {"factors": factors, "arms": [arm.name for arm in singles], "added": added}
    client.set_tag(parent_run_id, CONFIRM, json.dumps(record))
    if not factors:
        print(
            "Confirmation: no factor screened in (none is Holm-significant in the better direction); "
            "no confirmation round.",
            flush=True,
        )
        return []
    print(
        f"Confirmation round (ofat vs baseline, seeds {', '.join(map(str, spec.seeds))}): "
        + ", ".join(factors),
        flush=True,
    )
    return plan_round([], spec.seeds, tuple(singles))


def _alone(spec: StudySpec, factors: list[str]) -> list[Arm]:
    """The ofat arms of ``factors``: each switched on alone (the baseline arm aside)."""
    if not factors:
        return []
    arms = plan_arms(spec.baseline, {factor: spec.factors[factor] for factor in factors}, "ofat")
    return [arm for arm in arms if not arm.reference]
