"""The results in words: a paragraph to paste into a paper, and one line per compared arm for a
study's console. Both read the report's findings; nothing here computes a statistic.
"""

from __future__ import annotations

import math

import pandas as pd

from ablab.report.cells import metric_value, p_value
from ablab.report.findings import Report
from ablab.report.screening_cells import screening_lines, screening_sentence

DECIDED = ("better", "worse")


def verdict_lines(report: Report) -> list[str]:
    """Per compared arm: ``activation=relu: better, +79.1 pp [77.3, 80.8]``; then one warning
    line per degenerate arm."""
    lines, table = [], report.table
    if report.screening is not None:  # a screening's verdicts are its main effects', then its confirmation's
        lines, table = screening_lines(report), report.confirmation
    for _, row in _compared(table if table is not None else report.table.iloc[:0]).iterrows():
        lines.append(f"{row['arm']}: {row['verdict']}, {_delta(report, row)}")
    lines += [f"warning: {arm} is {found.what()}" for arm, found in report.degenerate.items()]
    return lines


def results_paragraph(report: Report) -> str:
    """One paragraph: per compared arm what changed, by how much, and what the test says."""
    table = report.table
    compared = _compared(table)
    if report.n_finished == 0 or compared.empty:
        return "No comparison to report: " + (
            "no run has finished yet." if report.n_finished == 0 else "the study has a single arm."
        )
    reference = report.launch.reference_arm
    ladder = set(compared["compared_with"]) != {reference}
    clauses = [_clause(report, row, ladder) for _, row in compared.iterrows()]
    opening = (
        "Each step compared with the step before it: "
        if ladder
        else f"Against the {reference} arm{_setting(report, compared)}, "
    )
    text = opening + "; ".join(clauses) + "."
    tested = int(compared["p_value"].notna().sum())
    if tested:
        text += (
            f" Verdicts at α = {report.alpha:g}, Holm-corrected across the {tested} tested comparison(s); "
            f"'equivalent' means a TOST put Δ within ±{_margin(report)} (the study's margin); the 95% CIs "
            "are not adjusted for multiplicity."
        )
    if report.screening is not None:
        text += " " + screening_sentence(report)
    if report.seed_decisions is not None:
        text += " Seeds were added in rounds; the verdicts are the group-sequential test's."
    for arm, found in report.degenerate.items():
        text += f" Caution: {arm} is {found.what()}, so differences from it say little about a working model."
    return text


def _compared(table: pd.DataFrame) -> pd.DataFrame:
    return table[~table["reference"]]


def _setting(report: Report, compared: pd.DataFrame) -> str:
    """What the reference arm sets for the keys the others change: `` (activation=sigmoid, ...)``."""
    plan = report.launch.plan
    if plan.empty:
        return ""
    changes = plan.drop_duplicates("arm").set_index("arm")["changed"]
    settings: dict[str, str] = {}
    for arm in compared["arm"]:
        for key, change in dict(changes.get(arm) or {}).items():
            if isinstance(change, list | tuple) and len(change) == 2:
                settings.setdefault(key, str(change[0]))
    return f" ({', '.join(f'{key}={value}' for key, value in settings.items())})" if settings else ""


def _clause(report: Report, row: pd.Series, ladder: bool) -> str:
    arm = row["arm"] + (f" (vs {row['compared_with']})" if ladder else "")
    metric = report.metric.label.replace("_", " ")
    verdict = row["verdict"]
    evidence = _evidence(report, row)
    if verdict in DECIDED:
        verb = "improved" if verdict == "better" else "worsened"
        return f"{arm} {verb} {metric} by {_magnitude(report, row)} ({evidence})"
    if verdict == "equivalent":
        return (
            f"{arm} was equivalent to {row['compared_with']} within ±{_margin(report)} "
            f"(Δ {_signed_interval(report, row)}; TOST, Holm-corrected p = {p_value(row['p_tost_holm'])})"
        )
    if verdict == "inconclusive":
        return (
            f"{arm} changed {metric} by {_signed_interval(report, row)}, which these seeds can neither "
            f"tell from no change ({evidence}) nor show equivalent within ±{_margin(report)}"
        )
    if row["n_finished"] == 0:
        return f"{arm} has no finished runs"
    if math.isnan(row["delta"]):
        return f"{arm} could not be compared: {row['compared_with']} has no finished runs"
    fraction = report.metric.fraction
    return (
        f"{arm} scored {metric_value(row['mean'], fraction)} over {row['n_finished']} run(s), "
        f"Δ {_signed(report, row['delta'])}{_unit(report)}, untested ({verdict})"
    )


def _evidence(report: Report, row: pd.Series) -> str:
    if row["test"] == "paired t-test":
        test = f"paired t-test over {row['n_pairs']} seeds"
    elif row["test"] == "Welch t-test":
        test = "Welch's t-test, unpaired runs"
    else:
        return "no test"
    return f"{test}, Holm-corrected p = {p_value(row['p_holm'])}"


def _delta(report: Report, row: pd.Series) -> str:
    """``+79.1 pp [77.3, 80.8]``: Δ with its 95% CI, as the console shows it."""
    if math.isnan(row["delta"]):
        return "no Δ"
    text = f"{_signed(report, row['delta'])}{_unit(report)}"
    if math.isnan(row["ci_low"]):
        return text + " (no CI)"
    return f"{text} [{_number(report, row['ci_low'])}, {_number(report, row['ci_high'])}]"


def _magnitude(report: Report, row: pd.Series) -> str:
    """|Δ| and its 95% CI, as a size: ``79.1 pp [95% CI 77.3, 80.8]``."""
    sign = 1.0 if row["delta"] >= 0 else -1.0
    low, high = sorted((sign * row["ci_low"], sign * row["ci_high"]))
    text = f"{_number(report, abs(row['delta']))}{_unit(report)}"
    if math.isnan(low):
        return text
    return f"{text} [95% CI {_number(report, low)}, {_number(report, high)}]"


def _signed_interval(report: Report, row: pd.Series) -> str:
    text = f"{_signed(report, row['delta'])}{_unit(report)}"
    if math.isnan(row["ci_low"]):
        return text
    return f"{text} [95% CI {_number(report, row['ci_low'])}, {_number(report, row['ci_high'])}]"


def _margin(report: Report) -> str:
    return f"{_number(report, report.margin * (100.0 if report.metric.fraction else 1.0))}{_unit(report)}"


def _unit(report: Report) -> str:
    return f" {report.metric.delta_unit}" if report.metric.delta_unit else ""


def _number(report: Report, value: float) -> str:
    """Percentage points to one decimal, as papers quote them; other units to 3 significant digits."""
    return f"{value:.1f}" if report.metric.fraction else f"{value:.3g}"


def _signed(report: Report, value: float) -> str:
    return f"{value:+.1f}" if report.metric.fraction else f"{value:+.3g}"
