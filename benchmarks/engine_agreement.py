"""Do the Keras and fused engines agree? Per-arm means side by side, with a two-sample test.

The fused engine is the study default only because this check passes on ``study=seed``
(benchmarks/study_speed.py --engines); a test runs it at small size. A benchmark's helper, not
part of the package: the test (tests/test_fused_engine.py) imports it from here.
"""

from __future__ import annotations

import numpy as np
import pandas as pd

from ablab.config.schema import ENGINES
from ablab.stats.comparisons import welch


def welch_p(a: np.ndarray, b: np.ndarray) -> float:
    """Welch's two-sample t-test p-value; 1.0 for two identical constant samples (nothing to
    tell apart, where scipy returns NaN), 0.0 for two different constants."""
    if np.ptp(a) == 0 and np.ptp(b) == 0:
        return 1.0 if a[0] == b[0] else 0.0
    return float(welch(a, b).pvalue)


def compare_engines(runs: pd.DataFrame, metric: str = "test_accuracy") -> pd.DataFrame:
    """``runs`` has columns arm, engine, ``metric``; one row per arm (in first-seen order) with
    each engine's n and mean, the difference fused - keras and Welch's p-value."""
    rows = []
    for arm in dict.fromkeys(runs["arm"]):
        values = {
            e: runs.loc[(runs["arm"] == arm) & (runs["engine"] == e), metric].to_numpy(float) for e in ENGINES
        }
        rows.append(
            {
                "arm": arm,
                "n_keras": len(values["keras"]),
                "n_fused": len(values["fused"]),
                "keras": values["keras"].mean(),
                "fused": values["fused"].mean(),
                "difference": values["fused"].mean() - values["keras"].mean(),
                "p_welch": welch_p(values["keras"], values["fused"]),
            }
        )
    return pd.DataFrame(rows).set_index("arm")


def same_ordering(table: pd.DataFrame) -> bool:
    """Do the engines rank the arms the same way by their means?"""
    return list(table["keras"].sort_values().index) == list(table["fused"].sort_values().index)
