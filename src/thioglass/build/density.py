"""Default glass density from the molar volumes of the crystalline components.

Ideal mixing: the glass volume is the mole-fraction weighted sum of the molar volumes
``V_i = M_i / rho_i`` of crystalline Li2S (1.66 g/cm3, antifluorite, a = 5.69-5.71 Å),
SiS2 (2.02 g/cm3, Peters & Krebs 1982) and P2S5 (2.09 g/cm3, P4S10).  This gives 1.90,
1.93 and 1.94 g/cm3 for 75, 70 and 66.7 Li2S-P2S5 glasses, within 1-2 % of the measured
1.88, 1.91 and 1.95 (the paper's Table 2), and the right trend (denser with more P2S5).
"""

from __future__ import annotations

import math

from thioglass.composition import Composition, component_mass_g_mol
from thioglass.elements import AVOGADRO, MASS_G_MOL
from thioglass.errors import ThioglassError

CRYSTAL_DENSITY_G_CM3: dict[str, float] = {"Li2S": 1.66, "SiS2": 2.02, "P2S5": 2.09}

_CM3_PER_ANGSTROM3 = 1e-24


def estimate_density(composition: Composition) -> float:
    """Ideal-mixing density of a glass in g/cm3 (see module docstring)."""
    mass = volume = 0.0
    for name, pct in composition.mol_percent.items():
        x = pct / 100.0
        mass += x * component_mass_g_mol(name)
        volume += x * component_mass_g_mol(name) / CRYSTAL_DENSITY_G_CM3[name]
    return mass / volume


def cubic_cell_length(counts: dict[str, int], density_g_cm3: float) -> float:
    """Edge in Å of the cube that holds ``counts`` atoms at ``density_g_cm3``."""
    if not (math.isfinite(density_g_cm3) and density_g_cm3 > 0):
        raise ThioglassError(f"density must be a positive number of g/cm3, got {density_g_cm3}")
    mass_g = sum(n * MASS_G_MOL[el] for el, n in counts.items()) / AVOGADRO
    return (mass_g / density_g_cm3 / _CM3_PER_ANGSTROM3) ** (1.0 / 3.0)
