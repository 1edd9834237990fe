"""The alias structure of a two-level design: which effects a fraction cannot tell apart.

pyDOE's ``fracfact_aliasing`` groups effects whose ±1 contrasts are equal, so it sees the aliases
of a fraction whose defining words are all positive (the principal fraction). Any regular fraction
becomes that one by flipping the columns at which one of its rows is -1; the flips change only
the signs of the aliases, so the chains are read from the flipped design and hold up to sign.
"""

from __future__ import annotations

import string
from dataclasses import dataclass

import numpy as np
from pydoe import fracfact_aliasing

MAX_FACTORS = 20  # pydoe.fracfact_aliasing refuses larger designs
ROMAN = {3: "III", 4: "IV", 5: "V", 6: "VI", 7: "VII", 8: "VIII"}


@dataclass(frozen=True)
class AliasChain:
    """Effects with the same contrast in the design, shortest first; each a tuple of factor indices."""

    terms: list[tuple[int, ...]]

    @property
    def order(self) -> int:
        """The lowest interaction order in the chain (1: it holds a main effect)."""
        return len(self.terms[0])


def alias_chains(design: np.ndarray) -> tuple[list[AliasChain], AliasChain | None]:
    """The design's alias chains (each effect in exactly one) and its defining relation (the
    words aliased with the mean; None for a full factorial)."""
    principal = np.asarray(design, float) * np.asarray(design, float)[0]
    readable, _ = fracfact_aliasing(principal)
    chains, defining = [], None
    for text in readable:
        terms = [tuple(string.ascii_lowercase.index(c) for c in term.strip()) for term in text.split("=")]
        chain = AliasChain(terms)
        if np.all(np.prod(principal[:, list(terms[0])], axis=1) == 1):  # constant: aliased with the mean
            defining = chain
        else:
            chains.append(chain)
    return chains, defining


def resolution(design: np.ndarray) -> int | None:
    """The length of the shortest defining word; None when no effect is aliased with the mean."""
    _, defining = alias_chains(design)
    return None if defining is None else defining.order


def roman(resolution_value: int | None) -> str:
    """A resolution as designs are named (IV); "full" for a full factorial."""
    return "full" if resolution_value is None else ROMAN.get(resolution_value, str(resolution_value))
