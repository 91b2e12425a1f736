"""Elastic constants at 0 K by the static route: relax, strain each Voigt direction both ways, relax
the ions, take stress differences (matcalc style), with any ASE calculator.

Here rather than in :mod:`thioglass.analysis` because it drives a calculator (ASE relaxations);
the tensor and VRH algebra it calls are the pure kernels of :mod:`thioglass.analysis.elastic`.
"""

from __future__ import annotations

from contextlib import contextmanager, nullcontext
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Iterator

import numpy as np
from ase import Atoms

from thioglass.analysis.elastic import elastic_tensor_from_stresses, strained_cells, vrh
from thioglass.errors import ThioglassError


@dataclass(frozen=True)
class ElasticSettings:
    """Parameters of the static finite-strain route.

    Attributes
    ----------
    strain:
        Magnitude of each Voigt strain (dimensionless; the paper uses 0.01).
    relax_structure:
        Relax positions and cell (to zero stress) before straining.
    relax_deformed:
        Relax atomic positions at each fixed strained cell (ion-clamped otherwise).
    optimizer:
        ``"FIRE"`` or ``"BFGS"`` (ASE optimisers).
    fmax_eV_per_angstrom:
        Force convergence of every relaxation.
    max_steps:
        Step cap of every relaxation.
    """

    strain: float = 0.01
    relax_structure: bool = True
    relax_deformed: bool = True
    optimizer: str = "FIRE"
    fmax_eV_per_angstrom: float = 0.01
    max_steps: int = 500

    def __post_init__(self) -> None:
        if not 0.0 < self.strain < 0.1:
            raise ThioglassError(
                f"elastic strain {self.strain} is outside (0, 0.1); use a small strain such as 0.01"
            )
        if self.optimizer not in ("FIRE", "BFGS"):
            raise ThioglassError(f"optimizer {self.optimizer!r} is unknown; use 'FIRE' or 'BFGS'")
        if self.fmax_eV_per_angstrom <= 0 or self.max_steps < 1:
            raise ThioglassError("fmax_eV_per_angstrom must be > 0 and max_steps >= 1")


class ElasticStep:
    """Static finite-strain elastic constants with any ASE calculator (matcalc style).

    Parameters
    ----------
    settings:
        :class:`ElasticSettings`; defaults follow the paper (1 % strain).
    """

    def __init__(self, settings: ElasticSettings | None = None) -> None:
        self.settings = settings or ElasticSettings()

    def _relax(self, atoms, with_cell: bool) -> int:
        from ase.filters import FrechetCellFilter
        from ase.optimize import BFGS, FIRE

        optimizer = {"FIRE": FIRE, "BFGS": BFGS}[self.settings.optimizer]
        target = FrechetCellFilter(atoms) if with_cell else atoms
        opt = optimizer(target, logfile=None)
        converged = opt.run(fmax=self.settings.fmax_eV_per_angstrom, steps=self.settings.max_steps)
        if not converged:
            raise ThioglassError(
                f"relaxation did not reach fmax {self.settings.fmax_eV_per_angstrom} eV/A in "
                f"{self.settings.max_steps} steps; raise max_steps or fmax, or check the structure"
            )
        return int(opt.nsteps)

    @staticmethod
    def _stress_GPa(atoms) -> np.ndarray:
        from ase import units

        return np.asarray(atoms.get_stress(voigt=True), dtype=float) / units.GPa

    def calc(self, atoms, calculator) -> dict:
        """Relax (optionally), apply the 12 strains, and return C, S and the VRH moduli.

        Parameters
        ----------
        atoms:
            Periodic ``ase.Atoms`` (not modified).
        calculator:
            Any ASE calculator that implements stress.

        Returns
        -------
        dict
            :func:`vrh` keys plus ``asymmetry_GPa``, ``eq_stress_GPa`` (Voigt stress of the
            reference cell, GPa, tension positive), ``volume_angstrom3``, ``n_atoms``,
            ``relax_steps`` and ``settings``.
        """
        if not all(atoms.pbc) or atoms.cell.rank != 3:
            raise ThioglassError("elastic constants need a structure periodic in x, y and z")
        s = self.settings
        ref = atoms.copy()
        ref.calc = calculator
        steps = self._relax(ref, with_cell=True) if s.relax_structure else 0
        eq_stress = self._stress_GPa(ref)
        plus, minus = np.zeros((6, 6)), np.zeros((6, 6))
        for item in strained_cells(ref.cell[:], s.strain):
            deformed = ref.copy()
            deformed.set_cell(item.cell, scale_atoms=True)
            deformed.calc = calculator
            if s.relax_deformed:
                steps += self._relax(deformed, with_cell=False)
            (plus if item.sign > 0 else minus)[item.voigt_index] = self._stress_GPa(deformed)
        tensor = elastic_tensor_from_stresses(plus, minus, s.strain)
        result = vrh(tensor.C_GPa)
        result.update(
            asymmetry_GPa=tensor.asymmetry_GPa,
            eq_stress_GPa=eq_stress.tolist(),
            volume_angstrom3=float(ref.get_volume()),
            n_atoms=len(ref),
            relax_steps=steps,
            settings=asdict(s),
        )
        return result


@contextmanager
def native_stderr_to(path: Path) -> Iterator[None]:
    """Send what C/C++ libraries write to file descriptor 2 (TensorFlow's and DeePMD's start-up lines, CUDA
    probes on a CPU machine) to ``path``, so the terminal keeps only the progress display."""
    import os
    import sys

    sys.stderr.flush()
    saved = os.dup(2)
    with open(path, "ab") as log:
        os.dup2(log.fileno(), 2)
        try:
            yield
        finally:
            sys.stderr.flush()
            os.dup2(saved, 2)
            os.close(saved)


def static_elastic(atoms: Atoms, potential: str | None, settings: ElasticSettings, *, threads: int = 2,
                   native_log: Path | None = None) -> dict:
    """The static route (:class:`ElasticStep` with ``settings``) with the
    potential's ASE calculator; ``native_log`` takes the libraries' own stderr lines.
    """
    from threadpoolctl import threadpool_limits

    from thioglass.potential import make_calculator

    quiet = native_stderr_to(native_log) if native_log else nullcontext()
    # ASE's cell filter solves many 3x3 problems; threaded BLAS next to the model's own threads
    # oversubscribes the cores and was measured 5x slower.
    with threadpool_limits(limits=1, user_api="blas"), quiet:
        return ElasticStep(settings).calc(atoms, make_calculator(potential, threads=threads))
