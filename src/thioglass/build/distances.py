"""Minimum distances between atoms of different units in a packed glass.

Each default is about 0.85-0.93 of the shortest distance of that pair in the crystals of
``data/structures`` and in the paper's glass RDFs, rounded to 0.05 Å, so that the packed
cell has no atoms on top of each other and a force field can melt it without blowing up,
while random packing still reaches the glass density:

=======  =====  ===================================================================
pair     Å      reference
=======  =====  ===================================================================
P-S      1.90   P-S bond 2.05 (PS4)
Si-S     2.00   Si-S bond 2.13 (SiS4)
Li-S     2.20   Li-S 2.45 (Li2S, the glasses' first Li-S peak)
S-S      3.00   S-S 3.3-3.4 (edge of PS4, the glasses' first S-S peak 3.3)
Li-Li    2.40   Li-Li 2.6-2.85 (Li3PS4, Li2S)
Li-P     2.60   Li-P 2.9-3.1 (Li3PS4, the glasses' first Li-P peak 3.1)
Li-Si    2.60   Li-Si 3.1 (the paper's Li2S-SiS2 glass)
P-P      2.60   P...P 2.9 across a shared edge; the P-P bond of P2S6 lies inside a unit
Si-Si    2.60   Si...Si 2.77 across a shared edge (SiS2)
P-Si     2.60   as P-P and Si-Si
=======  =====  ===================================================================

Distances inside a rigid unit (PS4, P2S7, ...) are fixed by its template and not checked.
"""

from __future__ import annotations

import math
from collections.abc import Mapping

import numpy as np

from thioglass.elements import TYPE_MAP
from thioglass.errors import ThioglassError

DEFAULT_MIN_DISTANCES_ANGSTROM: dict[str, float] = {
    "P-S": 1.90,
    "Si-S": 2.00,
    "Li-S": 2.20,
    "S-S": 3.00,
    "Li-Li": 2.40,
    "Li-P": 2.60,
    "Li-Si": 2.60,
    "P-P": 2.60,
    "Si-Si": 2.60,
    "P-Si": 2.60,
}


def pair_key(a: str, b: str) -> str:
    """Canonical ``A-B`` key with the elements in TYPE_MAP order."""
    first, second = sorted((a, b), key=TYPE_MAP.index)
    return f"{first}-{second}"


def min_distance_matrix(overrides: Mapping[str, float] | None = None) -> np.ndarray:
    """Symmetric (4, 4) matrix of minimum distances in Å, indexed in TYPE_MAP order.

    ``overrides`` maps pairs written ``"S-S"`` or ``"S-P"`` (either order) to Å.
    """
    table = {pair_key(*k.split("-")): v for k, v in DEFAULT_MIN_DISTANCES_ANGSTROM.items()}
    for key, value in (overrides or {}).items():
        table[_checked_key(key)] = _checked_value(key, value)
    n = len(TYPE_MAP)
    matrix = np.zeros((n, n))
    for i, a in enumerate(TYPE_MAP):
        for j, b in enumerate(TYPE_MAP):
            matrix[i, j] = table[pair_key(a, b)]
    return matrix


def parse_min_distances(items: list[str] | tuple[str, ...]) -> dict[str, float]:
    """Read command-line overrides such as ``["S-S=2.8", "Li-S=2.0"]``."""
    out: dict[str, float] = {}
    for item in items:
        key, sep, value = item.partition("=")
        try:
            number = float(value)
        except ValueError:
            number = math.nan
        if not sep or not math.isfinite(number):
            raise ThioglassError(f"cannot read minimum distance '{item}'; write PAIR=ANGSTROM, e.g. S-S=2.8")
        out[key.strip()] = number
    return out


def _checked_key(key: str) -> str:
    parts = key.strip().split("-")
    if len(parts) != 2 or any(p not in TYPE_MAP for p in parts):
        raise ThioglassError(
            f"unknown element pair '{key}' for a minimum distance; write e.g. S-S or Li-S "
            f"(elements: {', '.join(TYPE_MAP)})"
        )
    return pair_key(*parts)


def _checked_value(key: str, value: float) -> float:
    value = float(value)
    if not (math.isfinite(value) and 0.0 < value < 10.0):
        raise ThioglassError(f"minimum distance {key} = {value} Å is not between 0 and 10 Å; give a sensible value")
    return value
