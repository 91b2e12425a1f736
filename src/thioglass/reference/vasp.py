"""VASP with the paper's labelling settings (section 2.1 of Zhou et al.).

PBEsol, PAW, 500 eV plane-wave cutoff, Monkhorst-Pack k-points at 0.5 1/Å spacing, EDIFF 1e-5 eV;
single points with stress, so energies, forces and virials come from one run. The PAW sets keep
Li 1s and the Si/P/S 1s2s2p shells in the core, i.e. the standard ``Li``, ``Si``, ``P``, ``S`` POTCARs.

VASP itself is not shipped; :func:`write_vasp_inputs` writes a ready-to-run folder wherever
``VASP_PP_PATH`` points at the user's POTCAR library, and :func:`vasp_calculator` runs it through
ASE where ``ASE_VASP_COMMAND`` (or ``VASP_COMMAND``) is set.
"""

from __future__ import annotations

import os
from dataclasses import asdict, dataclass
from pathlib import Path
from typing import Any

from ase import Atoms
from ase.calculators.vasp import Vasp

from thioglass.errors import ThioglassError


@dataclass(frozen=True)
class VaspSettings:
    """INCAR settings; the defaults are the paper's.

    ``kspacing_inv_angstrom`` is VASP's KSPACING (reciprocal vectors include the 2π).
    """

    xc: str = "pbesol"
    encut_ev: float = 500.0
    kspacing_inv_angstrom: float = 0.5
    ediff_ev: float = 1e-5
    ismear: int = 0
    sigma_ev: float = 0.05
    prec: str = "Accurate"
    lreal: str = "Auto"
    ncore: int | None = None
    directory: str = "vasp"

    def ase_parameters(self) -> dict[str, Any]:
        params: dict[str, Any] = {
            "xc": self.xc,
            "encut": self.encut_ev,
            "kspacing": self.kspacing_inv_angstrom,
            "kgamma": False,  # Monkhorst-Pack, as in the paper
            "ediff": self.ediff_ev,
            "ismear": self.ismear,
            "sigma": self.sigma_ev,
            "prec": self.prec,
            "lreal": self.lreal,
            "nsw": 0,
            "ibrion": -1,
            "isif": 2,  # stress tensor without relaxing: gives the virial
            "lwave": False,
            "lcharg": False,
            "setups": "minimal",
        }
        if self.ncore is not None:
            params["ncore"] = self.ncore
        return params


def vasp_calculator(settings: VaspSettings = VaspSettings()) -> Vasp:
    """An ASE VASP calculator with the paper's settings, run in ``settings.directory``."""
    return Vasp(directory=settings.directory, **settings.ase_parameters())


def write_vasp_inputs(atoms: Atoms, directory: str | Path, settings: VaspSettings = VaspSettings()) -> Path:
    """Write INCAR, POSCAR and POTCAR for one single-point label into ``directory``.

    Raises
    ------
    ThioglassError
        When ``VASP_PP_PATH`` does not point at a POTCAR library.
    """
    if not os.environ.get("VASP_PP_PATH"):
        raise ThioglassError("VASP_PP_PATH is not set; point it at the folder holding potpaw_PBE")
    directory = Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    calc = Vasp(directory=str(directory), **settings.ase_parameters())
    try:
        calc.write_input(atoms)
    except RuntimeError as err:
        raise ThioglassError(f"cannot write VASP inputs: {str(err).splitlines()[0]}; check VASP_PP_PATH") from None
    return directory


def settings_dict(settings: VaspSettings) -> dict[str, Any]:
    """Settings as plain data, for run summaries."""
    return asdict(settings)
