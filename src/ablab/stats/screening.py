"""A fractional factorial screening's effects: OLS on the ±1 design with seeds as blocks.

``value ~ C(seed) + x0 + ... + [one two-factor interaction per alias chain that holds no main
effect]`` (statsmodels). A main effect is the high-minus-low difference, 2 x its coefficient,
with the coefficient's t-interval and p-value; Holm corrects across every estimated effect. An
effect estimated here also carries whatever it is aliased with (``ablab.stats.aliasing``): a chain
is one column of the design, so at most one of its effects is estimated, named by the whole chain.
Only seeds that ran every arm of the design enter, so every block is the whole fraction.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
import pandas as pd
import statsmodels.formula.api as smf
from statsmodels.stats.multitest import multipletests

from ablab.stats.aliasing import AliasChain, alias_chains

EFFECT_COLUMNS = ["term", "kind", "aliases", "delta", "ci_low", "ci_high", "p_value", "p_holm", "verdict"]
ALIAS_COLUMNS = ["chain", "letters", "estimated"]
MAIN, INTERACTION = "main effect", "two-factor interaction"


@dataclass(frozen=True)
class Screening:
    effects: pd.DataFrame  # EFFECT_COLUMNS; delta and CI in the display units (x scale)
    aliases: pd.DataFrame  # ALIAS_COLUMNS, one row per alias chain, the defining relation first
    factors: list[str]  # in the design's column order: letter a, b, c, ...
    resolution: int | None  # None: a full factorial, nothing aliased
    seeds_used: list[int]
    seeds_left_out: list[int]  # seeds missing an arm of the design
    residual_df: float
    design: pd.DataFrame  # the ±1 design: one row per arm, one column per factor

    def screened_in(self) -> list[str]:
        """The factors whose main effect is Holm-significant in the better direction."""
        mains = self.effects[(self.effects["kind"] == MAIN) & (self.effects["verdict"] == "better")]
        return list(mains["term"])


def term_name(term: tuple[int, ...], factors: list[str]) -> str:
    return " × ".join(factors[index] for index in term)


def _letters(term: tuple[int, ...]) -> str:
    return "".join(string.ascii_lowercase[index] for index in term)


def _estimated_term(chain: AliasChain) -> tuple[int, ...] | None:
    """The chain's term the model fits: its main effect, or its first two-factor interaction when it
    holds no main effect; None for a chain of three-factor and higher interactions (left to the
    residual, as is usual: they are taken as negligible)."""
    return chain.terms[0] if chain.order <= 2 else None


def alias_table(chains: list[AliasChain], defining: AliasChain | None, factors: list[str]) -> pd.DataFrame:
    rows = []
    if defining is not None:
        rows.append(
            {
                "chain": "I (the mean) = " + _named(defining.terms, factors),
                "letters": "I = " + " = ".join(map(_letters, defining.terms)),
                "estimated": "–",
            }
        )
    for chain in chains:
        estimated = _estimated_term(chain)
        rows.append(
            {
                "chain": _named(chain.terms, factors),
                "letters": " = ".join(map(_letters, chain.terms)),
                "estimated": "–" if estimated is None else term_name(estimated, factors),
            }
        )
    return pd.DataFrame(rows, columns=ALIAS_COLUMNS)


def _named(terms: list[tuple[int, ...]], factors: list[str]) -> str:
    """The chain's main effects and two-factor interactions by name; higher orders counted."""
    low = [term_name(term, factors) for term in terms if len(term) <= 2]
    higher = len(terms) - len(low)
    more = f"{higher} interaction(s) of 3+ factors" if higher else ""
    if not low:
        return more
    return " = ".join(low) + (f" (= {more})" if more else "")


def screen(
    runs: pd.DataFrame,
    design: pd.DataFrame,
    higher_is_better: bool,
    scale: float = 1.0,
    alpha: float = 0.05,
) -> Screening | None:
    """``runs``: arm, seed, value per finished run; ``design``: one row per arm of the fraction, one ±1
    column per factor. None when fewer than 2 seeds ran every arm (no block, no error estimate)."""
    factors = list(design.columns)
    matrix = design.to_numpy(dtype=float)
    chains, defining = alias_chains(matrix)
    data = runs[runs["arm"].isin(design.index)].dropna(subset=["value"])
    arms_per_seed = data.groupby("seed")["arm"].nunique()
    complete = sorted(int(seed) for seed in arms_per_seed[arms_per_seed == len(design)].index)
    left_out = sorted(int(seed) for seed in arms_per_seed.index if int(seed) not in complete)
    if len(complete) < 2:
        return None
    fitted_terms = [term for term in map(_estimated_term, chains) if term is not None]
    columns = {term: "x" + "_".join(map(str, term)) for term in fitted_terms}
    coded = pd.DataFrame(
        {name: np.prod(matrix[:, list(term)], axis=1) for term, name in columns.items()}, index=design.index
    )
    balanced = data[data["seed"].isin(complete)].join(coded, on="arm")
    model = smf.ols("value ~ C(seed) + " + " + ".join(columns.values()), data=balanced).fit()
    intervals = model.conf_int(alpha=alpha)
    by_term = {term: chain for chain in chains for term in chain.terms[:1]}
    rows = []
    for term, name in columns.items():
        aliases = [t for t in by_term[term].terms[1:] if len(t) <= 2]
        rows.append(
            {
                "term": term_name(term, factors),
                "kind": MAIN if len(term) == 1 else INTERACTION,
                "aliases": " = ".join(term_name(t, factors) for t in aliases),
                "delta": 2 * scale * model.params[name],
                "ci_low": 2 * scale * intervals.loc[name, 0],
                "ci_high": 2 * scale * intervals.loc[name, 1],
                "p_value": model.pvalues[name],
            }
        )
    effects = pd.DataFrame(rows)
    effects["p_holm"] = multipletests(effects["p_value"], alpha=alpha, method="holm")[1]
    effects["verdict"] = [_verdict(row, higher_is_better, alpha) for _, row in effects.iterrows()]
    return Screening(
        effects=effects[EFFECT_COLUMNS],
        aliases=alias_table(chains, defining, factors),
        factors=factors,
        resolution=None if defining is None else defining.order,
        seeds_used=complete,
        seeds_left_out=left_out,
        residual_df=float(model.df_resid),
        design=design,
    )


def _verdict(row: pd.Series, higher_is_better: bool, alpha: float) -> str:
    if not row["p_holm"] < alpha:
        return "inconclusive"
    if row["kind"] == INTERACTION:
        return "interacts"
    return "better" if (row["delta"] > 0) == higher_is_better else "worse"
