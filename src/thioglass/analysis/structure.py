"""The whole structural analysis of a frame or a trajectory, as reported by ``thioglass analyze``.

Density, every g_ij(r), the neutron S(Q) and the short-range order of P and Si, accumulated frame by
frame (memory does not grow with the number of frames) and returned as one JSON-ready dict.
"""

from __future__ import annotations

from dataclasses import asdict, dataclass

import numpy as np
from ase import Atoms

from thioglass.analysis.density import Density
from thioglass.analysis.rdf import RDF, RDFResult
from thioglass.analysis.shortrange import ShortRangeOrder
from thioglass.analysis.structure_factor import NeutronStructureFactor, partial_structure_factors
from thioglass.elements import NEUTRON_B_FM
from thioglass.errors import ThioglassError


@dataclass(frozen=True)
class StructureSettings:
    """Parameters of :class:`StructureAnalysis`.

    Attributes
    ----------
    r_max_angstrom, n_bins
        Range (Å) and bins of g(r); r_max may exceed half the cell (periodic images are counted).
    bond_cutoff_angstrom
        Bond cutoff for Q^n / E^n (2.6 Å in the paper).
    q_max_inv_angstrom, n_q, q_min_inv_angstrom
        Q grid of S(Q) in 1/Å; ``q_min_inv_angstrom`` None starts it at 2 pi / r_max.
    lorch
        Apply the Lorch window in the g(r) -> S(Q) transform (default: without it the cut at
        r_max rings at low Q).
    """

    r_max_angstrom: float = 10.0
    n_bins: int = 200
    bond_cutoff_angstrom: float = 2.6
    q_max_inv_angstrom: float = 20.0
    n_q: int = 400
    lorch: bool = True
    q_min_inv_angstrom: float | None = None

    def __post_init__(self) -> None:
        for name in ("r_max_angstrom", "bond_cutoff_angstrom", "q_max_inv_angstrom"):
            if not getattr(self, name) > 0:
                raise ThioglassError(f"{name} must be positive, got {getattr(self, name)}")
        if self.n_bins < 1 or self.n_q < 1:
            raise ThioglassError(f"n_bins and n_q must be at least 1, got {self.n_bins}, {self.n_q}")


def _floats(values: np.ndarray) -> list[float]:
    return [float(v) for v in values]


class StructureAnalysis:
    """Density, g(r), S(Q) and short-range order over the frames passed to :meth:`compute`."""

    def __init__(self, settings: StructureSettings | None = None) -> None:
        self.settings = settings or StructureSettings()
        self._density = Density()
        self._rdf = RDF(self.settings.r_max_angstrom, self.settings.n_bins)
        self._sro = ShortRangeOrder(self.settings.bond_cutoff_angstrom)
        self._sq = NeutronStructureFactor(
            self.settings.q_max_inv_angstrom, self.settings.n_q, self.settings.lorch, self.settings.q_min_inv_angstrom
        )

    def compute(self, atoms: Atoms) -> StructureAnalysis:
        """Add one frame."""
        self._density.compute(atoms)
        self._rdf.compute(atoms)
        self._sro.compute(atoms)
        return self

    def result(self) -> dict:
        """JSON-ready results averaged over frames.

        Keys: ``n_frames``, ``settings``, ``density_g_cm3`` (mean), ``density_std_g_cm3``,
        ``number_density_inv_angstrom3``, ``concentrations``, ``rdf`` ({``r_angstrom``, ``total``,
        ``partials``}), ``sq`` ({``q_inv_angstrom``, ``total`` (Faber-Ziman), ``f_q_fm2`` (the paper's
        sum), ``partials``, ``normalisation``, ...}), and from :class:`ShortRangeOrder` ``qn``, ``en``,
        ``bonds``, ``environments``, ``sulfur``, ``coordination``.
        """
        density = self._density.result()
        rdf = self._rdf.result()
        sro = self._sro.result()
        return {
            "n_frames": density["n_frames"],
            "settings": asdict(self.settings),
            "density_g_cm3": density["mean"],
            "density_std_g_cm3": density["std"],
            "number_density_inv_angstrom3": rdf.number_density,
            "concentrations": rdf.concentrations,
            "rdf": {
                "r_angstrom": _floats(rdf.r),
                "total": _floats(rdf.total),
                "partials": {key: _floats(g) for key, g in rdf.partials.items()},
            },
            "sq": self._sq_json(rdf),
            "qn": sro["qn"],
            "en": sro["en"],
            "bonds": sro["bonds"],
            "environments": sro["environments"],
            "sulfur": sro["sulfur"],
            "coordination": sro["coordination"],
        }

    def _sq_json(self, rdf: RDFResult) -> dict:
        missing = [el for el in rdf.species if el not in NEUTRON_B_FM]
        if missing:
            # Partials need no scattering lengths; only the weighted total does.
            q = self._sq.grid(rdf.r_max_angstrom)
            partials = partial_structure_factors(rdf, q, self._sq.lorch)
            return {
                "q_inv_angstrom": _floats(q),
                "total": None,
                "f_q_fm2": None,
                "partials": {key: _floats(s) for key, s in partials.items()},
                "normalisation": f"no total: no neutron scattering length for {', '.join(missing)}",
            }
        sq = self._sq.from_rdf(rdf)
        return {
            "q_inv_angstrom": _floats(sq["q"]),
            "total": _floats(sq["total"]),
            "f_q_fm2": _floats(sq["f_q_fm2"]),
            "partials": {key: _floats(s) for key, s in sq["partials"].items()},
            "weights": sq["weights"],
            "lorch": self._sq.lorch,
            "window": sq["window"],
            "q_min_inv_angstrom": sq["q_min"],
            "intensity": _floats(sq["intensity"]),
            "low_q_limit": sq["low_q_limit"],
            "normalisation": sq["normalisation"],
        }
