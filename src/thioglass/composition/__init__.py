"""Glass compositions (mol % of Li2S, SiS2, P2S5) and the exact stoichiometry of a cell."""

from thioglass.composition.composition import (
    MOL_PERCENT_TOLERANCE,
    Composition,
    component_mass_g_mol,
    formula_string,
)
from thioglass.composition.parse import parse_composition

__all__ = [
    "MOL_PERCENT_TOLERANCE",
    "Composition",
    "component_mass_g_mol",
    "formula_string",
    "parse_composition",
]
