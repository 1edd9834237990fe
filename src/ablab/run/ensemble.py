"""Soft-voting ensembles: each member's seed, the vote, and the metrics a run logs for them.

An ensemble run trains ``ensemble.size`` copies of the configured model, each with its own
seed, and scores the average of their class probabilities on the test set.
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass

import numpy as np

# Member i trains with seed + SEED_STRIDE * i. Member 0 is then exactly the single model of the
# same seed (a study compares an ensemble with its own first member, paired by seed), and the
# replicates of a study (seeds less than SEED_STRIDE apart) never share a member, so their
# spread is honest.
SEED_STRIDE = 1000
# What Keras' categorical cross-entropy clips probabilities to.
_EPSILON = 1e-7


@dataclass(frozen=True)
class Member:
    """One trained member: its own test scores and its test-set class probabilities."""

    seed: int
    test: dict[str, float]  # Keras' evaluate(), named test_loss, test_accuracy (test_mse, ...)
    val_accuracy: float | None  # last epoch's; None without a validation split
    train_seconds: float
    param_count: int
    probabilities: np.ndarray | None  # (n_test, classes); needed only to vote


def member_seeds(seed: int, size: int) -> list[int]:
    return [seed + SEED_STRIDE * index for index in range(size)]


def soft_vote(probabilities: Sequence[np.ndarray]) -> np.ndarray:
    """The members' average class probabilities."""
    return np.mean(np.stack(probabilities), axis=0)


def run_metrics(members: Sequence[Member], y_test: np.ndarray) -> dict[str, float]:
    """The run's final metrics: the vote's test scores; time and parameters summed over members.

    A single model keeps Keras' own ``evaluate`` numbers.
    """
    if len(members) == 1:
        test = dict(members[0].test)
    else:
        vote = np.clip(soft_vote([m.probabilities for m in members]), _EPSILON, 1.0 - _EPSILON)
        test = {
            "test_loss": float(np.mean(-np.sum(y_test * np.log(vote), axis=1))),
            "test_accuracy": float(np.mean(vote.argmax(axis=1) == y_test.argmax(axis=1))),
        }
    return {
        **{name: float(value) for name, value in test.items()},
        "train_seconds": float(sum(m.train_seconds for m in members)),
        "param_count": float(sum(m.param_count for m in members)),
    }


def member_metrics(members: Sequence[Member]) -> list[tuple[int, dict[str, float]]]:
    """Each member's own scores as (step = member index, metrics); nothing for a single model."""
    if len(members) == 1:
        return []
    rows = []
    for index, member in enumerate(members):
        values = {f"member_{name}": value for name, value in member.test.items()}
        values["member_train_seconds"] = member.train_seconds
        if member.val_accuracy is not None:
            values["member_val_accuracy"] = member.val_accuracy
        rows.append((index, values))
    return rows


def describe(seeds: Sequence[int], member_params: int) -> str:
    """The line above an ensemble's model summary; a single model's summary needs none."""
    if len(seeds) == 1:
        return ""
    total = member_params * len(seeds)
    return (
        f"Soft-voting ensemble of {len(seeds)} members like the one below (seeds "
        f"{', '.join(map(str, seeds))}); total params: {len(seeds)} x {member_params:,} = {total:,}\n"
    )
