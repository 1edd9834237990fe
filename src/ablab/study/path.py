"""``study.design: path``, the ablation path: from the source (the baseline) to ``study.target``, one
flip at a time. Each step races every remaining one-key flip of the current configuration as one
round of the launch (fused packs, paired seeds), and the path takes the winner
(``ablab.stats.path_race``).

A step's configuration is named by what it flips (``activation=relu,optimizer=adam``), so the same
configuration has the same arm and run keys whichever path reaches it. After each round the path
is replayed from MLflow (``ablab.report.path_replay``); a relaunch replays the finished steps the
same way and goes on where the killed launch stopped.
"""

from __future__ import annotations

import math
from collections.abc import Callable

from mlflow.tracking import MlflowClient

from ablab.stats.comparisons import ALPHA
from ablab.stats.path_race import PathStep, full_ladder_runs, runs_at_most
from ablab.study.design import Arm
from ablab.study.spec import StudySpec
from ablab.tracking.tags import PATH


def _keys(spec: StudySpec) -> list[str]:
    assert spec.target is not None, "read_study sets a target for design path"
    return list(spec.target)


def path_arm(spec: StudySpec, flipped: frozenset[str]) -> Arm:
    """The configuration with ``flipped`` at their target values, the other keys at the source's."""
    target = spec.target or {}
    settings = {**spec.baseline, **{key: target[key] for key in flipped}}
    changed = {key: (spec.baseline[key], target[key]) for key in _keys(spec) if key in flipped}
    name = ",".join(f"{key}={value}" for key, (_, value) in changed.items()) or "baseline"
    return Arm(name=name, settings=settings, changed=changed, reference=not flipped)


def first_arms(spec: StudySpec) -> list[Arm]:
    """The first round: the source and every single flip."""
    return [path_arm(spec, frozenset()), *(path_arm(spec, frozenset({key})) for key in _keys(spec))]


def combined_costs(spec: StudySpec, arms: list[Arm], costs: dict[str, int]) -> dict[str, int]:
    """The pack weight of later steps' configurations, which are not built while the study plans:
    the source's step cost plus what each of its flips adds alone (layers and weights add up)."""
    source = costs[path_arm(spec, frozenset()).name]
    added = {key: costs[path_arm(spec, frozenset({key})).name] - source for key in _keys(spec)}
    return {arm.name: max(1, source + sum(added[key] for key in arm.changed)) for arm in arms}


def path_tags(spec: StudySpec) -> dict[str, str]:
    """The parent-run tag the report and a relaunch replay the path from; {} for other designs."""
    if spec.design != "path":
        return {}
    from ablab.report.path_replay import path_tag

    return {PATH: path_tag(_keys(spec), spec.target or {}, None if spec.schedule else spec.seeds)}


def path_plan(spec: StudySpec) -> str:
    """What a path launch will do, for the plan and the dry run."""
    keys = _keys(spec)
    k = len(keys)
    seeds = spec.schedule.max if spec.schedule else len(spec.seeds)
    flips = ", ".join(f"{key}: {spec.baseline[key]} -> {spec.target[key]}" for key in keys)
    racing = (
        f"after each look ({', '.join(map(str, spec.schedule.looks))} seeds) the candidates decided "
        "worse than the step's best are dropped and the others get more seeds"
        if spec.schedule
        else f"one look at {seeds} seeds: the best mean wins"
    )
    return (
        f"Ablation path: {k} step(s) from baseline to the target ({flips}); candidates per step: "
        f"{', '.join(str(k - s) for s in range(k))}; {racing}. At most {runs_at_most(k, seeds)} runs "
        f"({1 + k * (k + 1) // 2} configurations x {seeds} seeds), where a full ladder over all "
        f"{math.factorial(k)} orders needs all 2^{k} = {2**k} configurations: "
        f"{full_ladder_runs(k, seeds)} runs."
    )


def next_path_round(
    client: MlflowClient,
    spec: StudySpec,
    parent_run_id: str,
    plan_round: Callable[[list[Arm], list[int]], list],
) -> list:
    """Replay the path on the launch's finished runs; the jobs of the race still waiting for seeds
    (its survivors and the current configuration, which they are compared with), or [] at the
    target."""
    steps = launch_path(client, parent_run_id)
    for step in steps[-2:]:  # the step this round decided or raced, and the one it opened
        print(f"  {step_line(step)}", flush=True)
    last = steps[-1] if steps else None
    if last is None or last.chosen is not None:
        print("Ablation path: the target is reached.", flush=True)
        return []
    arms = [path_arm(spec, last.current)]
    arms += [path_arm(spec, last.current | {flip}) for flip in last.survivors]
    seeds = list(range(last.needs_seeds)) if spec.schedule else spec.seeds
    print(f"Ablation path, step {last.number}: seeds 0-{seeds[-1]} for {', '.join(a.name for a in arms[1:])}")
    return plan_round(arms, seeds)


def step_line(step: PathStep) -> str:
    """``step 1: flips activation; optimizer: decided worse at 3 seeds`` for the console."""
    if step.chosen is None:
        return f"step {step.number}: racing {', '.join(step.survivors)}"
    dropped = [f"{flip}: {step.fate(flip)}" for flip in step.flips if flip not in step.survivors]
    return f"step {step.number}: flips {step.chosen}" + "".join(f"; {text}" for text in dropped)


def launch_path(client: MlflowClient, parent_run_id: str) -> list[PathStep]:
    """The launch's path so far, from the values the report reads (``ablab.report.path_replay``)."""
    from ablab.report.launch_record import load_launch
    from ablab.report.metric import launch_scores
    from ablab.report.path_replay import path_steps, recorded_path

    launch = load_launch(client, client.get_run(parent_run_id))
    setup = recorded_path(launch.parent_tags)
    if setup is None:
        raise ValueError(f"study launch {parent_run_id} has no {PATH} tag")
    choice, runs = launch_scores(client, launch.finished, launch.parent_tags)
    return path_steps(setup, launch, runs, ALPHA, choice.higher_is_better)
