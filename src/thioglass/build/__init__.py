"""Glass and crystal cells: random packing with exact stoichiometry, and the crystal library."""

from thioglass.build.crystals import CrystalInfo, crystal_names, derive_li10sip2s12, list_crystals, load_crystal
from thioglass.build.density import estimate_density
from thioglass.build.distances import DEFAULT_MIN_DISTANCES_ANGSTROM
from thioglass.build.glass import BuildSettings, build_glass, check_cell_size
from thioglass.build.units import decompose, templates

__all__ = [
    "DEFAULT_MIN_DISTANCES_ANGSTROM",
    "BuildSettings",
    "CrystalInfo",
    "build_glass",
    "check_cell_size",
    "crystal_names",
    "decompose",
    "derive_li10sip2s12",
    "estimate_density",
    "list_crystals",
    "load_crystal",
    "templates",
]
