"""The ablation table as a paper-ready LaTeX table (booktabs), made with pandas' Styler.

One row per arm: n seeds, mean ± sd, Δ [95% CI] vs the compared arm, p (Holm) and the verdict as
a marker; the best mean in bold; a caption naming the test, the correction, α and the margin.
The output is ASCII and needs only ``\\usepackage{booktabs}``; every string that came from
MLflow (arm names, the metric, the study) is escaped.
"""

from __future__ import annotations

import math
import re

import numpy as np
import pandas as pd

from ablab.report.cells import metric_value
from ablab.report.findings import Report

MARKERS = {
    "better": r"$\uparrow$",
    "worse": r"$\downarrow$",
    "equivalent": r"$\approx$",
    "inconclusive": "?",
}
# LaTeX's special characters in text mode, and what prints each one literally.
_SPECIAL = {
    "\\": r"\textbackslash{}",
    "&": r"\&",
    "%": r"\%",
    "$": r"\$",
    "#": r"\#",
    "_": r"\_",
    "{": r"\{",
    "}": r"\}",
    "~": r"\textasciitilde{}",
    "^": r"\textasciicircum{}",
    "<": r"\textless{}",
    ">": r"\textgreater{}",
}
_SPECIAL_PATTERN = re.compile("|".join(re.escape(character) for character in _SPECIAL))
# Non-ASCII characters arm names or metric labels may hold, in plain pdflatex terms.
_ASCII = {"–": "--", "—": "---", "→": r"$\rightarrow$", "±": r"$\pm$", "Δ": r"$\Delta$", "…": "..."}
MIN_SEEDS_FOR_BEST = 2
# The frame's column keys (_headers gives the printed headers).
ARM, N, MEAN, DELTA, P, VERDICT = "Arm", "$n$", "mean", "delta", "$p$ (Holm)", ""


def escape(text: object) -> str:
    """User text as literal LaTeX text: special characters escaped, other non-ASCII dropped to '?'."""
    escaped = _SPECIAL_PATTERN.sub(lambda match: _SPECIAL[match.group(0)], str(text))
    for character, replacement in _ASCII.items():
        escaped = escaped.replace(character, replacement)
    return escaped.encode("ascii", "replace").decode("ascii")


def to_latex(report: Report) -> str:
    """``table.tex``: a floating ``table`` with a booktabs ``tabular``, its caption and a label."""
    table = report.table
    fraction = report.metric.fraction
    frame = pd.DataFrame(
        {
            ARM: table["arm"].to_numpy(),
            N: table["n_finished"].astype(str).to_numpy(),
            MEAN: [_mean(row["mean"], row["std"], fraction) for _, row in table.iterrows()],
            DELTA: [_delta(row, fraction) for _, row in table.iterrows()],
            P: ["" if row["reference"] else _p(row["p_holm"]) for _, row in table.iterrows()],
            VERDICT: [_marker(row) for _, row in table.iterrows()],
        }
    )
    best = _best(table, report.metric.higher_is_better)
    styler = (
        frame.style.hide(axis="index")
        .format(escape, subset=[ARM])
        .apply(lambda column: ["textbf: --rwrap;" if flag else "" for flag in best], subset=[MEAN])
        .relabel_index(_headers(report), axis="columns")
        .set_table_styles([{"selector": "small", "props": ":;"}])  # \small after \centering
    )
    return styler.to_latex(
        column_format="lrrrrc",
        position_float="centering",
        hrules=True,
        caption=caption(report),
        label=f"tab:{_label(report.launch.study)}",
        environment="table",
    )


def _headers(report: Report) -> list[str]:
    """Short headers, so the table fits a column: the caption says what the metric and Δ are."""
    unit = f" ({escape(report.metric.delta_unit)})" if report.metric.delta_unit else ""
    percent = r" (\%)" if report.metric.fraction else ""
    return [ARM, N, rf"mean $\pm$ sd{percent}", rf"$\Delta${unit} [95\% CI]", P, VERDICT]


def caption(report: Report) -> str:
    """What the table shows and how it was tested, in the caption a paper needs."""
    table, launch = report.table, report.launch
    compared = table[~table["reference"]]
    reference = escape(launch.reference_arm)
    unit = "percentage points" if report.metric.fraction else "the metric's units"
    direction = "higher" if report.metric.higher_is_better else "lower"
    against = (
        "each step minus the step before it"
        if set(compared["compared_with"]) - {launch.reference_arm}
        else f"arm minus {reference}"
    )
    parts = [
        rf"Ablation study \texttt{{{escape(launch.study)}}}: {escape(report.metric.label)} per arm "
        rf"({direction} is better), mean $\pm$ sd over the $n$ finished seeds; in bold the best mean "
        rf"of the arms with $n \ge {MIN_SEEDS_FOR_BEST}$.",
        rf"$\Delta$: {against}, in {unit}, with a 95\% $t$-interval (not adjusted for multiplicity).",
    ]
    tested = compared[compared["p_value"].notna()]
    if len(tested):
        parts.append(
            rf"$p$: {_tests(tested)}, Holm-corrected across {len(tested)} comparison(s); verdicts at "
            rf"$\alpha = {report.alpha:g}$, equivalence by TOST within $\pm${_margin(report)}."
        )
    if report.seed_decisions is not None:
        parts.append("Seeds were added in rounds: the verdicts are a group-sequential test's.")
    shown = [verdict for verdict in MARKERS if verdict in set(compared["verdict"])]
    if shown:
        parts.append(", ".join(f"{MARKERS[verdict]} {verdict}" for verdict in shown) + ".")
    for arm, found in report.degenerate.items():
        parts.append(f"Arm {escape(arm)} is degenerate: {escape(found.what())}.")
    return " ".join(parts)


def _tests(tested: pd.DataFrame) -> str:
    used = set(tested["test"])
    if used == {"paired t-test"}:
        return "paired $t$-test (pairs matched by seed)"
    if used == {"Welch t-test"}:
        return "Welch's $t$-test (unpaired runs)"
    return "paired $t$-test (pairs matched by seed), Welch's $t$-test where the runs are unpaired"


def _margin(report: Report) -> str:
    margin = report.margin * (100.0 if report.metric.fraction else 1.0)
    unit = f" {escape(report.metric.delta_unit)}" if report.metric.delta_unit else ""
    return f"{margin:.4g}{unit}"


def _best(table: pd.DataFrame, higher_is_better: bool) -> list[bool]:
    """Which rows hold the best mean over at least 2 seeds (ties: all of them); a single run's
    value is not an arm's result."""
    means = np.where(table["n_finished"] >= MIN_SEEDS_FOR_BEST, table["mean"].to_numpy(float), np.nan)
    if not np.isfinite(means).any():
        return [False] * len(table)
    best = np.nanmax(means) if higher_is_better else np.nanmin(means)
    return [bool(np.isfinite(mean) and mean == best) for mean in means]


def _missing(value: object) -> bool:
    return value is None or (isinstance(value, float) and math.isnan(value))


def _text_number(text: str) -> str:
    """A number in text mode: a typographic minus, not a hyphen."""
    return "$-$" + text[1:] if text.startswith("-") else text


def _mean(mean: float, std: float, fraction: bool) -> str:
    """A 0..1 score in percent to one decimal, as papers print accuracies; else 4 significant digits."""
    if _missing(mean):
        return "--"

    def shown(value: float) -> str:
        return f"{100 * value:.1f}" if fraction else metric_value(value, fraction)

    text = _text_number(shown(mean))
    return text if _missing(std) else rf"{text} $\pm$ {shown(std)}"


def _delta(row: pd.Series, fraction: bool) -> str:
    """Δ [95% CI] in math mode: percentage points to one decimal, else 3 significant digits."""
    if row["reference"]:
        return "reference"
    if _missing(row["delta"]):
        return "--"
    digits = ".1f" if fraction else ".3g"
    delta = f"${row['delta']:+{digits}}$"
    if _missing(row["ci_low"]):
        return f"{delta} (no CI)"
    return f"{delta} [${row['ci_low']:+{digits}}$, ${row['ci_high']:+{digits}}$]"


def _p(value: float) -> str:
    if _missing(value):
        return "--"
    if value >= 0.0001:
        return f"{value:.4f}"
    mantissa, exponent = f"{value:.1e}".split("e")
    return rf"${mantissa} \times 10^{{{int(exponent)}}}$"


def _marker(row: pd.Series) -> str:
    return "" if row["reference"] else MARKERS.get(row["verdict"], "")


def _label(study: str) -> str:
    return re.sub(r"[^A-Za-z0-9]+", "-", study).strip("-").lower() or "ablation"
