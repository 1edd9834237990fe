"""What a search ends with: the best trial and the parameter importances, as printed and as
optimization_results.yaml (the sweep dir's file, and the parent run's artifact)."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import optuna
import pandas as pd
from omegaconf import OmegaConf
from optuna.trial import TrialState

from ablab.search.importance import EVALUATORS, Importances, param_importances


@dataclass(frozen=True)
class SearchResults:
    objective: str
    direction: str
    n_complete: int
    n_failed: int
    best_trial: int | None  # None: no trial completed
    best_value: float | None
    best_params: dict[str, Any]
    importances: Importances


def search_results(study: optuna.Study, objective: str, keys: list[str], seed: int | None) -> SearchResults:
    """The study's results (a stored study's earlier trials count too)."""
    states = [trial.state for trial in study.get_trials(deepcopy=False)]
    complete = states.count(TrialState.COMPLETE)
    best = study.best_trial if complete else None
    return SearchResults(
        objective=objective,
        direction=study.direction.name.lower(),
        n_complete=complete,
        n_failed=states.count(TrialState.FAIL),
        best_trial=best.number if best else None,
        best_value=best.value if best else None,
        best_params=dict(best.params) if best else {},
        importances=param_importances(study, keys, seed),
    )


def results_yaml(results: SearchResults) -> str:
    """optimization_results.yaml: ``best_params`` and ``best_value`` as hydra-optuna-sweeper wrote
    them, then the rest."""
    document = {
        "best_params": results.best_params,
        "best_value": results.best_value,
        "best_trial": results.best_trial,
        "objective": results.objective,
        "direction": results.direction,
        "trials": {"complete": results.n_complete, "failed": results.n_failed},
        "importances": results.importances.by_evaluator,
        "notes": results.importances.notes,
    }
    return OmegaConf.to_yaml(OmegaConf.create(document))


def importance_table(importances: Importances) -> pd.DataFrame:
    """One row per key, one column per evaluator (its label), the most important key first."""
    table = pd.DataFrame(importances.by_evaluator).rename(columns=EVALUATORS)
    return table.sort_values(table.columns[0], ascending=False).rename_axis("key")


def format_results(results: SearchResults) -> str:
    lines = [f"Search done: {results.n_complete} trial(s) completed, {results.n_failed} failed."]
    if results.best_trial is None:
        lines.append("No best trial: none completed.")
    else:
        lines.append(f"Best trial {results.best_trial}: {results.objective} {results.best_value:.4g}")
        width = max(map(len, results.best_params), default=0)
        lines += [f"  {key:<{width}}  {shown(value)}" for key, value in results.best_params.items()]
    if results.importances.by_evaluator:
        lines.append(
            "Parameter importances (fANOVA: share of the objective's variance; PED-ANOVA: what sets "
            "the best trials apart):"
        )
        table = importance_table(results.importances)
        text = table.to_string(float_format=lambda v: f"{v:.3f}", index_names=False)
        lines += [f"  {line}" for line in text.splitlines()]
    lines += [f"  {note}" if results.importances.by_evaluator else note for note in results.importances.notes]
    return "\n".join(lines)


def shown(value: Any) -> str:
    """A parameter's value on the console: floats to 4 significant digits."""
    return f"{value:.4g}" if isinstance(value, float) else str(value)
