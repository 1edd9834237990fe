"""A fractional screening's tables as display text: the effects, the alias chains, and the plain
words that say what each tested and what the design cannot tell apart."""

from __future__ import annotations

from ablab.report.cells import p_value, signed
from ablab.report.findings import Report
from ablab.stats.aliasing import roman
from ablab.stats.screening import MAIN

ALIAS_HEADERS = ["alias chain (effects the design cannot tell apart, up to sign)", "letters", "estimated as"]


def effect_headers(report: Report) -> list[str]:
    unit = f" ({report.metric.delta_unit})" if report.metric.delta_unit else ""
    return [
        "effect",
        "kind",
        "also carries (aliases)",
        f"Δ high − low{unit} [95% CI]",
        "p",
        "p (Holm)",
        "verdict",
    ]


def effect_rows(report: Report) -> list[list[str]]:
    if report.screening is None:
        return []
    return [
        [
            row["term"],
            row["kind"],
            row["aliases"] or "–",
            f"{signed(row['delta'])} [{signed(row['ci_low'])}, {signed(row['ci_high'])}]",
            p_value(row["p_value"]),
            p_value(row["p_holm"]),
            row["verdict"],
        ]
        for _, row in report.screening.effects.iterrows()
    ]


def effect_notes(report: Report) -> list[str]:
    screening = report.screening
    if screening is None:
        return ["No screening: it needs at least 2 seeds that finished every arm of the design."]
    unit = report.metric.delta_unit or "the metric's units"
    letters = ", ".join(f"{chr(97 + number)} = {factor}" for number, factor in enumerate(screening.factors))
    notes = [
        "OLS on the ±1 design (-1: the baseline option, +1: the alternative) with seeds as blocks "
        f"(statsmodels: value ~ C(seed) + factors + estimable interactions; {screening.residual_df:.0f} "
        f"residual df). Δ high − low = 2 × the coefficient, in {unit}: the change from switching the "
        "factor on, averaged over the other factors' levels, with its 95% t-interval and p-value.",
        f"p (Holm): Holm–Bonferroni across the table's {len(screening.effects)} effects. Verdict: a main "
        f"effect is 'better' or 'worse' when p (Holm) < α = {report.alpha:g}, else 'inconclusive'; an "
        "interaction 'interacts' (the factors' effects depend on each other) or 'inconclusive'.",
        f"Resolution {roman(screening.resolution)}: " + _resolution_words(screening.resolution),
        "An effect is estimated once per alias chain (table below); it also carries its aliases, "
        "so a two-factor interaction row is the sum of its chain's interactions. Chains of "
        "three-factor and higher interactions are not estimated: they are taken as negligible and "
        f"left in the residual. Factor letters: {letters}.",
        f"Seeds used: {', '.join(map(str, screening.seeds_used))} (each finished every arm of the design).",
    ]
    if screening.seeds_left_out:
        notes.append(
            f"Seeds left out (an arm did not finish): {', '.join(map(str, screening.seeds_left_out))}."
        )
    screened = screening.screened_in()
    notes.append(
        f"Screened in (main effect better, Holm): {', '.join(screened)}."
        if screened
        else "No factor screened in: none has a main effect Holm-significant in the better direction."
    )
    return notes


def _resolution_words(resolution: int | None) -> str:
    if resolution is None:
        return "every combination ran (a full factorial): nothing is aliased."
    if resolution == 3:
        return (
            "main effects are aliased with two-factor interactions: a main effect's Δ also carries "
            "the interactions in its chain."
        )
    if resolution == 4:
        return (
            "main effects are clear of two-factor interactions (aliased with three-factor ones); "
            "two-factor interactions are aliased with each other in chains, one estimated per chain."
        )
    return (
        "main effects and two-factor interactions are clear of each other: every two-factor "
        "interaction is estimated."
    )


def alias_rows(report: Report) -> list[list[str]]:
    if report.screening is None:
        return []
    return [
        [row["chain"], row["letters"], row["estimated"]] for _, row in report.screening.aliases.iterrows()
    ]


def alias_notes(report: Report) -> list[str]:
    return [
        "Effects in one chain have the same ±1 column in this design (pydoe.fracfact_aliasing), so the data "
        "cannot separate them: the estimate named in the last column is their sum (up to sign). The first "
        "row is the defining relation: the interactions aliased with the mean; its shortest word's length "
        "is the design's resolution."
    ]


def confirmation_notes(report: Report) -> list[str]:
    return [
        f"The factors that screened in, rerun one at a time (ofat) against {report.launch.reference_arm} "
        "on the same seeds (study.confirm): each alone, not averaged over the other factors as the "
        "screening's Δ is. Same tests as the main table, Holm-corrected across this table's comparisons."
    ]


def screening_lines(report: Report) -> list[str]:
    """The console's verdicts for a screening: ``optimizer (main effect): better, +20.3 pp [...]``."""
    screening = report.screening
    if screening is None:
        return ["screening: no estimate (it needs 2 seeds that finished every arm)"]
    unit = f" {report.metric.delta_unit}" if report.metric.delta_unit else ""
    return [
        f"{row['term']}{' = ' + row['aliases'] if row['aliases'] else ''} ({row['kind']}): "
        f"{row['verdict']}, {signed(row['delta'], 1)}{unit} "
        f"[{signed(row['ci_low'], 1)}, {signed(row['ci_high'], 1)}]"
        for _, row in screening.effects.iterrows()
        if row["kind"] == MAIN or row["verdict"] != "inconclusive"
    ]


def screening_sentence(report: Report) -> str:
    """The screening in one sentence for the results paragraph."""
    screening = report.screening
    if screening is None:
        return "The screening could not be estimated: it needs 2 seeds that finished every arm."
    mains = screening.effects[screening.effects["kind"] == MAIN]
    unit = f" {report.metric.delta_unit}" if report.metric.delta_unit else ""
    effects = "; ".join(
        f"{row['term']} {signed(row['delta'], 1)}{unit} [{signed(row['ci_low'], 1)}, "
        f"{signed(row['ci_high'], 1)}] ({row['verdict']})"
        for _, row in mains.iterrows()
    )
    return (
        f"In the resolution {roman(screening.resolution)} screening ({len(screening.design)} arms, seeds as "
        f"blocks, OLS), the main effects (high minus low, 95% CI, Holm across {len(screening.effects)} "
        f"effects) were: {effects}."
    )
