"""What a study launch prints: the plan (dry run), the outcome per arm and the verdicts."""

from __future__ import annotations

from collections.abc import Mapping, Sequence

import pandas as pd

from ablab.study.jobs import Job


def plan_table(jobs: Sequence[Job], done: set[str], rerun: bool) -> pd.DataFrame:
    rows = [
        {
            "dataset": job.dataset,
            "arm": job.arm.name,
            "changed": ", ".join(f"{k}: {a} -> {b}" for k, (a, b) in job.arm.changed.items()) or "-",
            "engine": job.config.trainer.engine,
            "seed": job.seed,
            "done": job.run_key in done and not rerun,
        }
        for job in jobs
    ]
    frame = pd.DataFrame(rows)
    keys = ["dataset", "arm", "changed", "engine"] if frame["dataset"].any() else ["arm", "changed", "engine"]
    table = frame.groupby(keys, sort=False).agg(
        seeds=("seed", lambda s: " ".join(map(str, s))), runs=("seed", "size"), done=("done", "sum")
    )
    return table.reset_index()


def format_plan(name: str, design: str, jobs: Sequence[Job], done: set[str], rerun: bool) -> str:
    table = plan_table(jobs, done, rerun)
    n_done = int(table["done"].sum())
    n_arms = len(dict.fromkeys(job.arm.name for job in jobs))
    datasets = len(dict.fromkeys(job.dataset for job in jobs if job.dataset))
    return (
        f"Study {name!r} ({design}): {n_arms} arms{f' x {datasets} datasets' if datasets else ''} x seeds "
        f"= {len(jobs)} runs, "
        f"{n_done} already FINISHED, {len(jobs) - n_done} to run"
        + (" (study.rerun=true: all rerun)" if rerun else "")
        + "\n"
        + table.to_string(index=False)
    )


def format_outcome(outcomes: Sequence[tuple[Job, str]], errors: Mapping[str, str]) -> str:
    """``outcomes`` pairs each job with finished / skipped / failed; ``errors`` by arm."""
    frame = pd.DataFrame([{"arm": job.arm.name, "outcome": outcome} for job, outcome in outcomes])
    counts = pd.crosstab(frame["arm"], frame["outcome"]).reindex(
        index=list(dict.fromkeys(frame["arm"])),
        columns=["finished", "skipped", "failed"],
        fill_value=0,
    )
    totals = counts.sum()
    lines = [
        f"Study summary: {totals['finished']} finished, {totals['skipped']} skipped "
        f"(already FINISHED), {totals['failed']} failed",
        counts.to_string(),
    ]
    lines += [f"  failed in {arm}: {message}" for arm, message in errors.items()]
    return "\n".join(lines)


def format_verdicts(lines: Sequence[str]) -> str:
    """The report's verdicts in plain words (``ablab.report.words.verdict_lines``), under a title."""
    return "\n".join(["Verdicts (Δ vs the compared arm, 95% CI):", *(f"  {line}" for line in lines)])
