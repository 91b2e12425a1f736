"""Glass compositions in mol % of Li2S, SiS2 and P2S5, and the exact cells they make.

A composition such as ``66.7Li2S-33.3P2S5`` is a ratio of components.  A periodic cell can
only hold whole atoms, so :meth:`Composition.formula_unit` looks for the smallest integer
ratio of components whose mol % lie within ``tolerance_mol_percent`` of the request
(66.7:33.3 -> 2:1, i.e. Li4P2S7) and :meth:`Composition.atom_counts` repeats that formula
unit as often as brings the atom count closest to the number asked for.
"""

from __future__ import annotations

import math
from dataclasses import dataclass
from itertools import product

from thioglass.elements import COMPONENTS, MASS_G_MOL, TYPE_MAP
from thioglass.errors import ThioglassError

#: Largest deviation (mol %, absolute, per component) between the requested and the built
#: composition.  Glass compositions are quoted to whole mol % in the literature, so a
#: rounding error of up to 0.5 is implied: "67Li2S-33P2S5" is the 2:1 glass Li4P2S7.
MOL_PERCENT_TOLERANCE = 0.5

#: The amounts of a composition must sum to 100 within this (mol %); 66.7 + 33.3 passes.
SUM_TOLERANCE = 0.15

#: Largest number of component formula units tried in one formula unit of the glass.
_MAX_COMPONENT_UNITS = 1000


@dataclass(frozen=True)
class Composition:
    """A Li2S-SiS2-P2S5 glass composition in mol % of its components.

    Parameters
    ----------
    li2s, sis2, p2s5
        Mol % of Li2S, SiS2 and P2S5; non-negative and summing to 100 (normalised to exactly
        100 on construction).
    """

    li2s: float = 0.0
    sis2: float = 0.0
    p2s5: float = 0.0

    def __post_init__(self) -> None:
        values = (self.li2s, self.sis2, self.p2s5)
        if any(not math.isfinite(v) or v < 0 for v in values):
            raise ThioglassError(f"mol % must be finite and non-negative, got {values}")
        total = sum(values)
        if abs(total - 100.0) > SUM_TOLERANCE:
            raise ThioglassError(f"mol % of Li2S, SiS2, P2S5 sum to {total:g}, not 100; fix the amounts")
        for name, value in zip(("li2s", "sis2", "p2s5"), values):
            object.__setattr__(self, name, 100.0 * value / total)

    @property
    def mol_percent(self) -> dict[str, float]:
        """Mol % of every component named in :data:`thioglass.elements.COMPONENTS`."""
        return dict(zip(COMPONENTS, (self.li2s, self.sis2, self.p2s5)))

    @property
    def label(self) -> str:
        """Canonical text, components in the order Li2S, SiS2, P2S5: ``75Li2S-25P2S5``."""
        return "-".join(f"{round(v, 4):g}{name}" for name, v in self.mol_percent.items() if v > 0)

    @property
    def elements(self) -> tuple[str, ...]:
        """Elements present, in :data:`~thioglass.elements.TYPE_MAP` order."""
        return tuple(el for el, x in self.element_fractions.items() if x > 0)

    @property
    def element_fractions(self) -> dict[str, float]:
        """Atom fraction of every element of TYPE_MAP (zeros included)."""
        moles = dict.fromkeys(TYPE_MAP, 0.0)
        for name, pct in self.mol_percent.items():
            for el, n in COMPONENTS[name].items():
                moles[el] += pct * n
        total = sum(moles.values())
        return {el: m / total for el, m in moles.items()}

    @property
    def molar_mass_g_mol(self) -> float:
        """Mass of one mole of component formula units (mol-weighted mean), g/mol."""
        return sum(pct / 100.0 * component_mass_g_mol(name) for name, pct in self.mol_percent.items())

    def formula_unit(self, tolerance_mol_percent: float = MOL_PERCENT_TOLERANCE) -> dict[str, int]:
        """Smallest integer numbers of component units within the tolerance of the composition.

        Returns
        -------
        dict
            Component name -> number of formula units, e.g. ``{"Li2S": 2, "SiS2": 0, "P2S5": 1}``
            for 66.7Li2S-33.3P2S5.  Of the candidates with the fewest units, the one with the
            smallest largest deviation wins.
        """
        if not tolerance_mol_percent > 0:
            raise ThioglassError(f"tolerance must be positive mol %, got {tolerance_mol_percent}")
        targets = [pct / 100.0 for pct in self.mol_percent.values()]
        tol = tolerance_mol_percent / 100.0 + 1e-12
        for total in range(1, _MAX_COMPONENT_UNITS + 1):
            best = _best_split(targets, total, tol)
            if best is not None:
                return dict(zip(COMPONENTS, best))
        raise ThioglassError(  # unreachable for tolerances above 0.05 mol %
            f"no ratio of at most {_MAX_COMPONENT_UNITS} formula units matches {self.label} within "
            f"{tolerance_mol_percent} mol %; use a larger tolerance"
        )

    def atom_counts(
        self, n_atoms: int, *, tolerance_mol_percent: float = MOL_PERCENT_TOLERANCE
    ) -> dict[str, int]:
        """Exact stoichiometry with the atom count closest to ``n_atoms``.

        Returns element -> count for the elements present, in TYPE_MAP order.  Raises
        :class:`ThioglassError` when ``n_atoms`` is below one formula unit.
        """
        unit = self.formula_unit(tolerance_mol_percent)
        per_unit = _atoms_of(unit)
        size = sum(per_unit.values())
        if isinstance(n_atoms, bool) or not isinstance(n_atoms, int) or n_atoms < size:
            raise ThioglassError(
                f"{n_atoms} atoms is too few for {self.label}: one formula unit "
                f"{formula_string(per_unit)} has {size} atoms; ask for at least {size}"
            )
        repeats = math.floor(n_atoms / size + 0.5)
        return {el: n * repeats for el, n in per_unit.items()}

    def achieved_mol_percent(self, tolerance_mol_percent: float = MOL_PERCENT_TOLERANCE) -> dict[str, float]:
        """Mol % of the components in the cell actually built (see :meth:`formula_unit`)."""
        unit = self.formula_unit(tolerance_mol_percent)
        total = sum(unit.values())
        return {name: 100.0 * n / total for name, n in unit.items()}


def component_mass_g_mol(name: str) -> float:
    """Molar mass of one component (Li2S, SiS2 or P2S5) in g/mol."""
    return sum(n * MASS_G_MOL[el] for el, n in COMPONENTS[name].items())


def formula_string(counts: dict[str, int]) -> str:
    """Chemical formula in TYPE_MAP order, e.g. ``Li6P2S8``; counts of one are left bare."""
    parts = []
    for el in TYPE_MAP:
        n = counts.get(el, 0)
        if n:
            parts.append(el if n == 1 else f"{el}{n}")
    return "".join(parts)


def _atoms_of(component_units: dict[str, int]) -> dict[str, int]:
    counts = dict.fromkeys(TYPE_MAP, 0)
    for name, units in component_units.items():
        for el, n in COMPONENTS[name].items():
            counts[el] += n * units
    return {el: n for el, n in counts.items() if n}


def _best_split(targets: list[float], total: int, tol: float) -> tuple[int, ...] | None:
    """Integers k_i >= 1 (where the target is non-zero) summing to ``total`` with
    |k_i/total - target_i| <= tol, minimising the largest deviation; None if there is none."""
    ranges = []
    for x in targets:
        if x == 0:
            ranges.append(range(0, 1))
            continue
        low = max(1, math.ceil((x - tol) * total - 1e-9))
        high = math.floor((x + tol) * total + 1e-9)
        if low > high:
            return None
        ranges.append(range(low, high + 1))
    best, best_err = None, math.inf
    for ks in product(*ranges):
        if sum(ks) != total:
            continue
        err = max(abs(k / total - x) for k, x in zip(ks, targets))
        if err <= tol and err < best_err:
            best, best_err = ks, err
    return best
