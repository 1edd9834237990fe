"""How fast each run learns, from its per-epoch validation accuracy curve.

AUC is normalised by the epoch span: the trapezoid area under val accuracy over epochs 1..E
divided by (E - 1), i.e. the curve's mean height, 0..1 (1.0 = perfect from the first epoch).
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from scipy.integrate import trapezoid

CONVERGENCE_COLUMNS = ["best_val_accuracy", "epoch_to_90pct_best", "val_auc"]
AUC_NOTE = (
    "mean val accuracy (curve area): the area under the validation-accuracy curve (trapezoid rule "
    "over epochs 1..E) divided by E - 1, so it is the curve's mean height on a 0..1 scale; 1.0 means "
    "perfect from the first epoch (not a ROC AUC)."
)


def curve_summary(epochs: np.ndarray, values: np.ndarray) -> dict[str, float]:
    """Best value, first epoch reaching 90% of it, and the normalised area under the curve."""
    best = float(np.max(values))
    first = int(epochs[np.argmax(values >= 0.9 * best)])
    span = float(epochs[-1] - epochs[0])
    auc = float(trapezoid(values, epochs) / span) if span > 0 else float(values[0])
    return {"best_val_accuracy": best, "epoch_to_90pct_best": first, "val_auc": auc}


def convergence_by_run(curves: pd.DataFrame) -> pd.DataFrame:
    """One row per run that logged val_accuracy, indexed by run_id, CONVERGENCE_COLUMNS."""
    val = curves[curves["key"] == "val_accuracy"]
    rows = {
        run_id: curve_summary(group["step"].to_numpy(), group["value"].to_numpy(dtype=float))
        for run_id, group in val.groupby("run_id", sort=False)
    }
    return pd.DataFrame.from_dict(rows, orient="index", columns=CONVERGENCE_COLUMNS)
