"""The gpaw-pbesol reference: VASP's k-point rule, options, the missing-GPAW line, and (where Debian's GPAW
is installed: `make gpaw`) forces and stress against finite differences of its own energy on a tiny cell.

The physics checks run at reduced settings through the options (250 eV, a 2x2x2 k-grid, a tight SCF) so
each single point takes seconds; the converged-settings label of a small frame is marked slow.
"""

from __future__ import annotations

import json
import subprocess
import sys

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk

from thioglass.errors import ThioglassError
from thioglass.reference.calculators import cached_calculator, freeze_options, get_calculator, options_for_store
from thioglass.reference.gpaw_pbesol import GpawSettings, kpoint_grid, settings_from_options
from thioglass.reference.gpaw_setups import gpaw_runtime
from thioglass.reference.label import LabelStore, label_frames

SYSTEM_PYTHON = "/usr/bin/python3"


def _has_gpaw() -> bool:
    try:
        return subprocess.run([SYSTEM_PYTHON, "-I", "-c", "import gpaw"], capture_output=True, timeout=60).returncode == 0
    except (OSError, subprocess.TimeoutExpired):
        return False


needs_gpaw = pytest.mark.skipif(not _has_gpaw(), reason="Debian's GPAW is not installed (make gpaw)")


def test_kpoint_grid_follows_vasp_kspacing():
    # Li2S conventional cell, a = 5.7 Å: 2π/5.7 = 1.102 1/Å -> ceil(1.102/0.5) = 3.
    assert kpoint_grid(np.eye(3) * 5.7, 0.5) == (3, 3, 3)
    # fcc primitive (a = 5.7): |b| = 2π·√3/5.7 = 1.909 -> 4; a 30 Å axis still gets one point.
    assert kpoint_grid(bulk("Li2S", "fluorite", a=5.7).cell, 0.5) == (4, 4, 4)
    assert kpoint_grid(np.diag([4.0, 8.0, 30.0]), 0.5) == (4, 2, 1)
    # Exactly on a boundary (2π/L = 2 * 0.5): no extra point from rounding noise.
    assert kpoint_grid(np.eye(3) * np.pi, 0.5) == (4, 4, 4)


def test_settings_default_to_the_paper_and_options_are_checked():
    paper = GpawSettings()
    assert (paper.xc, paper.encut_ev, paper.kspacing_inv_angstrom, paper.ediff_ev) == ("PBEsol", 500.0, 0.5, 1e-5)
    assert settings_from_options({"encut_ev": 300}).encut_ev == 300
    with pytest.raises(ThioglassError, match="unknown gpaw-pbesol option.*encut"):
        settings_from_options({"encut": 300})
    with pytest.raises(ThioglassError, match="positive"):
        settings_from_options({"encut_ev": -1})


def test_store_gives_a_dft_reference_its_working_folder(tmp_path):
    options = options_for_store("gpaw-pbesol", {"encut_ev": 300}, tmp_path / "store")
    assert options == {"encut_ev": 300, "directory": str((tmp_path / "store" / "gpaw-pbesol").resolve())}
    assert options_for_store("sevennet-0", None, tmp_path) == {}  # universal potentials take no options
    assert freeze_options({"b": 1, "a": 2}) == (("a", 2), ("b", 1))


def test_missing_gpaw_is_one_line_before_any_work(tmp_path):
    # The venv's python has no GPAW: the label job stops at once, with how to install it, and records nothing.
    store = LabelStore(tmp_path / "store")
    atoms = bulk("Li", "bcc", a=3.4)
    with pytest.raises(ThioglassError) as caught:
        label_frames([atoms], "gpaw-pbesol", store, options={"python": sys.executable})
    message = str(caught.value)
    assert "\n" not in message and "make gpaw" in message and "apt-get install gpaw gpaw-data" in message
    assert store.keys("done") == [] and store.keys("failed") == []
    with pytest.raises(ThioglassError, match="make gpaw"):
        get_calculator("gpaw-pbesol", python=str(tmp_path / "no-such-python"))


def test_label_cli_reads_options(tmp_path):
    from thioglass.cli.label import parse_options

    assert parse_options(["encut_ev=400", "python=/usr/bin/python3", "timeout_s=null"]) == {
        "encut_ev": 400, "python": "/usr/bin/python3", "timeout_s": None}
    with pytest.raises(ThioglassError, match="KEY=VALUE"):
        parse_options(["encut_ev"])


# Cheap settings for the physics checks; the SCF is converged far below the finite-difference error.
FAST = {"encut_ev": 250.0, "kspacing_inv_angstrom": 1.2, "ediff_ev": 1e-8, "density_tolerance": 1e-7,
        "smearing_width_ev": 0.01}


@pytest.fixture(scope="module")
def gpaw(tmp_path_factory):
    folder = tmp_path_factory.mktemp("gpaw")
    options = dict(FAST, directory=str(folder / "work"), setups_dir=str(folder / "setups"))
    return cached_calculator("gpaw-pbesol", freeze_options(options)), folder


def _li2s_rattled() -> Atoms:
    atoms = bulk("SLi2", "fluorite", a=5.6)  # antifluorite primitive cell: S on the fcc site (ASE puts the first symbol there)
    atoms.rattle(0.08, seed=3)
    return atoms


def _energy(atoms: Atoms, calc) -> float:
    work = atoms.copy()
    work.calc = calc
    return work.get_potential_energy()


@needs_gpaw
def test_forces_are_minus_the_energy_gradient(gpaw):
    calc, _ = gpaw
    atoms = _li2s_rattled()
    atoms.calc = calc
    forces = atoms.get_forces()
    assert np.abs(forces).max() > 0.05  # a rattled cell: the check is not of zeros
    step = 0.01
    for index, axis in [(0, 0), (1, 2)]:
        plus, minus = atoms.copy(), atoms.copy()
        plus.positions[index, axis] += step
        minus.positions[index, axis] -= step
        numeric = -(_energy(plus, calc) - _energy(minus, calc)) / (2 * step)
        assert numeric == pytest.approx(forces[index, axis], abs=5e-3)


@needs_gpaw
def test_stress_is_the_strain_derivative_of_the_energy(gpaw):
    _, folder = gpaw
    # GPAW 22.8's stress and the finite differences of its energy agree to 0.4-3e-4 eV/Å³ (0.01-0.05 GPa,
    # under 2 % here) depending on the cell and the k-grid (measured on this cell and a shifted 2x2x2 grid,
    # LDA and PBEsol alike); 5e-4 eV/Å³ (0.08 GPa) is far below the 0.3 GPa the references are judged at and
    # still catches a wrong sign, unit, volume factor or Voigt order.
    options = dict(FAST, kspacing_inv_angstrom=0.8, directory=str(folder / "work"), setups_dir=str(folder / "setups"))
    calc = cached_calculator("gpaw-pbesol", freeze_options(options))
    atoms = _li2s_rattled()
    atoms.calc = calc
    stress = atoms.get_stress(voigt=False)
    volume = atoms.get_volume()
    step = 0.004
    # xx (a volume change) and xy (a shear): sigma_ij = (1/V) dE/d(eps_ij) for a symmetric strain.
    for i, j in [(0, 0), (0, 1)]:
        strain = np.zeros((3, 3))
        strain[i, j] = strain[j, i] = step if i == j else step / 2  # shear: eps_xy = eps_yx = step/2
        energies = []
        for sign in (1, -1):
            strained = atoms.copy()
            strained.set_cell(np.asarray(atoms.cell) @ (np.eye(3) + sign * strain), scale_atoms=True)
            energies.append(_energy(strained, calc))
        numeric = (energies[0] - energies[1]) / (2 * step) / volume
        assert numeric == pytest.approx(stress[i, j], abs=5e-4)  # eV/Å³; |stress| ~ 0.01-0.02 here
    # The log went to the working folder, one file per frame; the datasets' generation is recorded.
    assert list((folder / "work" / "logs").glob("*.log"))
    record = json.loads((folder / "setups" / "generation.json").read_text())
    assert record["datasets"]["Li.PBEsol"]["gpaw_version"] == gpaw_runtime(SYSTEM_PYTHON).version


@needs_gpaw
def test_label_store_records_a_gpaw_failure_and_resumes(tmp_path):
    # One SCF iteration cannot converge: the frame is recorded as failed with GPAW's reason, not fatal.
    store = LabelStore(tmp_path / "store")
    options = dict(FAST, kspacing_inv_angstrom=0.8, max_scf_iterations=1, setups_dir=str(tmp_path / "setups"))
    report = label_frames([_li2s_rattled()], "gpaw-pbesol", store, options=options)
    assert (report.labelled, report.failed) == (0, 1)
    (failure,) = store.failures().values()
    assert "GPAW failed" in failure["error"] and "gpaw-pbesol/logs" in failure["error"]
    (log,) = (tmp_path / "store" / "gpaw-pbesol" / "logs").glob("*.log")
    # VASP's Monkhorst-Pack (KGAMMA = .FALSE.): an odd grid is not shifted off Gamma.
    assert "3 x 3 x 3 Monkhorst-Pack grid\n" in log.read_text()
    assert label_frames([_li2s_rattled()], "gpaw-pbesol", store, options=options).already_done == 1


@needs_gpaw
@pytest.mark.slow
def test_paper_settings_label_li2s(tmp_path):
    # The paper's settings on the 3-atom Li2S cell: 500 eV, 4x4x4 Monkhorst-Pack, converged stress.
    store = LabelStore(tmp_path / "store")
    atoms = bulk("SLi2", "fluorite", a=5.70)  # antifluorite: S at 0, Li at +-1/4
    report = label_frames([atoms], "gpaw-pbesol", store, options={"setups_dir": str(tmp_path / "setups")})
    assert report.labelled == 1
    _, label = store.load(store.keys()[0])
    assert np.abs(label.forces_ev_per_angstrom).max() < 1e-3  # every atom on an inversion centre
    pressure_gpa = -np.trace(-label.virial_ev / atoms.get_volume()) / 3 * 160.21766
    # The bundled cell (a = 5.670 Å) labels at -0.2 GPa, so 5.70 Å is slightly expanded: about -1 GPa. (Li at the
    # fcc site instead, bulk("Li2S", "fluorite"), is another structure and gives -3.4 GPa.)
    assert -2.0 < pressure_gpa < 0.0
