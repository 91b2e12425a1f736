"""``gpaw-pbesol``: PBEsol DFT labels with GPAW at the paper's settings (VASP is not available here).

Plane waves at 500 eV, PBEsol, PAW, a Monkhorst-Pack grid from a k-spacing of 0.5 1/Å in VASP's
convention, an EDIFF-like SCF criterion of 1e-5 eV per cell, Fermi-Dirac smearing of 0.05 eV (GPAW 22.8
has no Gaussian smearing; for these insulators the two agree), energy + forces + stress from one run.

GPAW comes from Debian (``make gpaw``) and imports only under the system interpreter, so each single
point runs :mod:`thioglass.reference.gpaw_worker` there as a separate program through
:func:`thioglass.md.process.run_process`, which stops it with whoever started it. Atoms and results go
through JSON files in a scratch folder; GPAW's text output goes to ``<directory>/logs/<frame key>.log``
(for labels: beside the label store), never to the terminal.
"""

from __future__ import annotations

import json
import math
import os
import shutil
import tempfile
import time
from dataclasses import asdict, dataclass, fields
from pathlib import Path
from typing import Any, Mapping

import numpy as np
from ase import Atoms
from ase.calculators.calculator import Calculator, all_changes

from thioglass.errors import ThioglassError
from thioglass.reference.gpaw_setups import GpawRuntime, default_setups_dir, ensure_setups, gpaw_runtime

WORKER = Path(__file__).with_name("gpaw_worker.py")


@dataclass(frozen=True)
class GpawSettings:
    """Settings of one GPAW single point; the defaults are the paper's (VASP: ENCUT, KSPACING, EDIFF).

    ``ediff_ev`` is per cell, as VASP's EDIFF (GPAW's criterion is per valence electron; the worker
    divides). ``density_tolerance`` is GPAW's own density criterion (its default). ``directory`` holds
    ``logs/`` and ``scratch/``; ``setups_dir`` the generated PAW datasets (default
    ``~/.cache/thioglass/gpaw-setups-pbesol``). ``timeout_s`` stops a single point that runs longer.
    """

    xc: str = "PBEsol"
    encut_ev: float = 500.0
    kspacing_inv_angstrom: float = 0.5
    ediff_ev: float = 1e-5
    density_tolerance: float = 1e-4
    smearing: str = "fermi-dirac"
    smearing_width_ev: float = 0.05
    max_scf_iterations: int = 333
    threads: int = 1
    python: str = "/usr/bin/python3"
    setups_dir: str | None = None
    directory: str = "gpaw-pbesol"
    timeout_s: float | None = None

    def __post_init__(self) -> None:
        if self.encut_ev <= 0 or self.kspacing_inv_angstrom <= 0 or self.ediff_ev <= 0:
            raise ThioglassError("gpaw-pbesol needs positive encut_ev, kspacing_inv_angstrom and ediff_ev")
        if self.threads < 1:
            raise ThioglassError(f"gpaw-pbesol threads must be at least 1, got {self.threads}")


def settings_from_options(options: Mapping[str, Any]) -> GpawSettings:
    """Settings from config options; an unknown key is one line listing the known ones."""
    known = {f.name for f in fields(GpawSettings)}
    unknown = sorted(set(options) - known)
    if unknown:
        raise ThioglassError(f"unknown gpaw-pbesol option(s) {unknown}; known: {sorted(known)}")
    try:
        return GpawSettings(**options)
    except TypeError as err:
        raise ThioglassError(f"bad gpaw-pbesol options: {err}") from None


def kpoint_grid(cell: np.ndarray, kspacing_inv_angstrom: float) -> tuple[int, int, int]:
    """VASP's KSPACING rule: N_i = max(1, ceil(2π |b_i| / KSPACING)), with b_i · a_j = δ_ij."""
    reciprocal = np.linalg.inv(np.asarray(cell, dtype=float)).T  # rows b_i, without the 2π
    lengths = 2 * math.pi * np.linalg.norm(reciprocal, axis=1)
    # A hair of tolerance: a cell exactly on a boundary must not flip with rounding noise.
    return tuple(max(1, math.ceil(length / kspacing_inv_angstrom - 1e-9)) for length in lengths)


class GpawPbesol(Calculator):
    """ASE calculator running one GPAW single point per structure in the GPAW interpreter."""

    implemented_properties = ["energy", "free_energy", "forces", "stress"]

    def __init__(self, settings: GpawSettings = GpawSettings()) -> None:
        super().__init__()
        # Checked here, before any work: a missing GPAW is one line, not a failure recorded per frame.
        self.runtime: GpawRuntime = gpaw_runtime(settings.python)
        self.settings = settings

    def calculate(self, atoms: Atoms | None = None, properties: Any = ("energy",),
                  system_changes: Any = all_changes) -> None:
        super().calculate(atoms, properties, system_changes)
        if not all(self.atoms.pbc):
            raise ThioglassError("gpaw-pbesol labels periodic cells only (plane waves); give a 3-D periodic cell")
        result = run_single_point(self.atoms, self.settings, self.runtime)
        self.results = {"energy": result["energy"], "free_energy": result["energy"],
                        "forces": np.array(result["forces"]), "stress": np.array(result["stress"])}


def run_single_point(atoms: Atoms, settings: GpawSettings, runtime: GpawRuntime) -> dict[str, Any]:
    """Energy (free energy, eV), forces (eV/Å) and stress (Voigt, eV/Å³) of ``atoms`` from the worker."""
    from thioglass.md.process import run_process
    from thioglass.reference.label import frame_key

    folder = Path(settings.directory)
    setups = ensure_setups(runtime, settings.xc, set(atoms.get_chemical_symbols()),
                           Path(settings.setups_dir) if settings.setups_dir else default_setups_dir(settings.xc))
    key = frame_key(atoms)
    log = folder / "logs" / f"{key}.log"
    log.parent.mkdir(parents=True, exist_ok=True)
    (folder / "scratch").mkdir(parents=True, exist_ok=True)
    scratch = Path(tempfile.mkdtemp(prefix=f"{key}-", dir=folder / "scratch"))
    try:
        job, result = scratch / "job.json", scratch / "result.json"
        job.write_text(json.dumps(_job(atoms, settings)))
        deadline = None if settings.timeout_s is None else time.monotonic() + settings.timeout_s
        status = run_process([runtime.python, "-I", str(WORKER), str(job), str(result)], cwd=scratch,
                             env=_environment(settings, runtime, setups), log_path=log,
                             on_tick=lambda: _check_deadline(deadline, settings, atoms))
        if status != 0 or not result.is_file():
            raise ThioglassError(f"GPAW failed on {atoms.get_chemical_formula()} (exit {status}): "
                                 f"{_last_error(log)}; full log {log}")
        return json.loads(result.read_text())
    finally:
        shutil.rmtree(scratch, ignore_errors=True)


def _job(atoms: Atoms, settings: GpawSettings) -> dict[str, Any]:
    return {"numbers": atoms.numbers.tolist(), "positions": atoms.positions.tolist(),
            "cell": np.asarray(atoms.cell).tolist(), "pbc": [bool(p) for p in atoms.pbc],
            "kpts": list(kpoint_grid(atoms.cell, settings.kspacing_inv_angstrom)), "settings": asdict(settings)}


def _environment(settings: GpawSettings, runtime: GpawRuntime, setups: Path) -> dict[str, str]:
    env = dict(os.environ)
    threads = str(settings.threads)
    env.update(OMP_NUM_THREADS=threads, OPENBLAS_NUM_THREADS=threads, MKL_NUM_THREADS=threads,
               GPAW_SETUP_PATH=os.pathsep.join([str(setups), *runtime.setup_paths]))
    # thioglass's own environment must not leak into the other interpreter (numpy 2 vs Debian's 1.24).
    for name in ("PYTHONPATH", "PYTHONHOME", "VIRTUAL_ENV"):
        env.pop(name, None)
    return env


def _check_deadline(deadline: float | None, settings: GpawSettings, atoms: Atoms) -> None:
    if deadline is not None and time.monotonic() > deadline:
        raise ThioglassError(f"GPAW took longer than timeout_s={settings.timeout_s:g} on "
                             f"{atoms.get_chemical_formula()}; raise timeout_s or use a smaller cell")


def _last_error(log: Path) -> str:
    """The last line of the worker's output that names an error (GPAW's SCF failure, a traceback)."""
    try:
        lines = [line.strip() for line in log.read_text(errors="replace").splitlines() if line.strip()]
    except OSError:
        return "no log"
    errors = [line for line in lines if "Error" in line or "error" in line]
    return (errors or lines or ["no output"])[-1][:200]


def gpaw_calculator(options: Mapping[str, Any] | None = None) -> GpawPbesol:
    """The ``gpaw-pbesol`` reference with config options (see :class:`GpawSettings`)."""
    return GpawPbesol(settings_from_options(options or {}))
