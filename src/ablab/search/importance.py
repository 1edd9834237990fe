"""How much each searched key mattered, by two of Optuna's evaluators that answer different questions.

fANOVA fits a random forest to the completed trials and splits the objective's variance over
the whole space among the keys. PED-ANOVA asks which keys' values set the best trials (the top
``target_quantile``) apart from the rest. Both need at least two completed trials that differ.
"""

from __future__ import annotations

import warnings
from dataclasses import dataclass, field

import optuna
from optuna.importance import FanovaImportanceEvaluator, PedAnovaImportanceEvaluator
from optuna.trial import TrialState

# Name -> label, in the order they are shown.
EVALUATORS = {"fanova": "fANOVA", "ped_anova": "PED-ANOVA"}


@dataclass(frozen=True)
class Importances:
    by_evaluator: dict[str, dict[str, float]] = field(default_factory=dict)  # name -> key -> share
    notes: list[str] = field(default_factory=list)  # why there are none, or what Optuna warned


def param_importances(study: optuna.Study, keys: list[str], seed: int | None) -> Importances:
    """Each evaluator's importances (summing to 1) over the searched ``keys`` that varied; notes
    instead when the completed trials cannot tell the keys apart."""
    complete = study.get_trials(deepcopy=False, states=(TrialState.COMPLETE,))
    if len(complete) < 2:
        return _none(f"{len(complete)} completed trial(s); they need 2 or more")
    varied = [key for key in keys if len({repr(t.params.get(key)) for t in complete}) > 1]
    if not varied:
        return _none("every completed trial had the same parameters")
    if len({t.value for t in complete}) == 1:
        return _none(f"every completed trial scored {complete[0].value}")
    evaluators = {"fanova": FanovaImportanceEvaluator(seed=seed), "ped_anova": PedAnovaImportanceEvaluator()}
    by_evaluator, notes = {}, []
    for name, evaluator in evaluators.items():
        with warnings.catch_warnings(record=True) as caught:
            warnings.simplefilter("always")
            found = optuna.importance.get_param_importances(study, evaluator=evaluator, params=varied)
        by_evaluator[name] = {key: float(value) for key, value in found.items()}
        notes += [f"{EVALUATORS[name]}: {warning.message}" for warning in caught]
    return Importances(by_evaluator, notes)


def _none(reason: str) -> Importances:
    return Importances(notes=[f"No parameter importances: {reason}."])
