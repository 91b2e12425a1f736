"""Reference labels: physics of the labels, resumable store, Dask path, VASP inputs."""

from __future__ import annotations

import numpy as np
import pytest
from ase import Atoms
from ase.build import bulk
from ase.calculators.calculator import Calculator, all_changes
from ase.calculators.emt import EMT

from thioglass.errors import ThioglassError
from thioglass.reference.calculators import get_calculator, list_references
from thioglass.reference.label import LabelStore, frame_key, label_atoms, label_frames
from thioglass.reference.vasp import VaspSettings, write_vasp_inputs

EMT_SPEC = "ase:ase.calculators.emt:EMT"


class NaNCalculator(Calculator):
    implemented_properties = ["energy", "forces", "stress"]

    def calculate(self, atoms=None, properties=("energy",), system_changes=all_changes):
        super().calculate(atoms, properties, system_changes)
        n = len(self.atoms)
        self.results = {"energy": np.nan, "forces": np.zeros((n, 3)), "stress": np.zeros(6)}


def _rattled_copper(seed: int) -> Atoms:
    atoms = bulk("Cu", cubic=True) * (2, 2, 2)
    atoms.rattle(0.05, seed=seed)
    return atoms


def test_virial_is_minus_strain_derivative_of_energy():
    atoms = _rattled_copper(0)
    label = label_atoms(atoms, EMT())
    eps = 1e-5
    for a, b in [(0, 0), (1, 2)]:
        energies = []
        for sign in (1, -1):
            strain = np.eye(3)
            strain[a, b] += sign * eps / (2 if a != b else 1)
            strain[b, a] += sign * eps / (2 if a != b else 1) if a != b else 0
            work = atoms.copy()
            work.set_cell(atoms.cell @ strain, scale_atoms=True)
            work.calc = EMT()
            energies.append(work.get_potential_energy())
        assert label.virial_ev[a, b] == pytest.approx(-(energies[0] - energies[1]) / (2 * eps), rel=1e-4, abs=1e-6)


def test_forces_match_finite_differences():
    atoms = _rattled_copper(1)
    label = label_atoms(atoms, EMT())
    h = 1e-4
    for axis in range(3):
        energies = []
        for sign in (1, -1):
            work = atoms.copy()
            work.positions[3, axis] += sign * h
            work.calc = EMT()
            energies.append(work.get_potential_energy())
        assert label.forces_ev_per_angstrom[3, axis] == pytest.approx(-(energies[0] - energies[1]) / (2 * h), abs=1e-5)


def test_label_store_resumes_and_records_failures(tmp_path, monkeypatch):
    frames = [_rattled_copper(s) for s in range(3)]
    store = LabelStore(tmp_path / "labels")
    first = label_frames(frames[:2], EMT_SPEC, store)
    assert (first.already_done, first.labelled, first.failed) == (0, 2, 0)
    second = label_frames(frames, EMT_SPEC, store)
    assert (second.already_done, second.labelled, second.failed) == (2, 1, 0)
    atoms, label = store.load(frame_key(frames[2]))
    assert np.allclose(atoms.positions, frames[2].positions)
    assert label.energy_ev == pytest.approx(label_atoms(frames[2], EMT()).energy_ev)

    import thioglass.reference.label as module

    monkeypatch.setattr(module, "cached_calculator", lambda spec, options=(): NaNCalculator())
    bad = _rattled_copper(7)
    report = label_frames([bad], EMT_SPEC, store)
    assert report.failed == 1 and store.status(frame_key(bad)) == "failed"
    assert "NaN" in store.failures()[frame_key(bad)]["error"]


def test_nan_labels_are_rejected():
    with pytest.raises(ThioglassError, match="NaN"):
        label_atoms(_rattled_copper(2), NaNCalculator())


def test_dask_labelling_matches_serial(tmp_path):
    from distributed import Client, LocalCluster

    frames = [_rattled_copper(s) for s in range(4)]
    with LocalCluster(n_workers=1, threads_per_worker=1, processes=False, dashboard_address=None) as cluster, Client(cluster) as client:
        report = label_frames(frames, EMT_SPEC, LabelStore(tmp_path / "dask"), client=client)
    assert report.labelled == 4
    store = LabelStore(tmp_path / "dask")
    for atoms in frames:
        _, label = store.load(frame_key(atoms))
        assert label.energy_ev == pytest.approx(label_atoms(atoms, EMT()).energy_ev)


def test_bad_reference_specs():
    with pytest.raises(ThioglassError, match="unknown reference"):
        get_calculator("dft-magic")
    with pytest.raises(ThioglassError, match="ase:package.module:ClassName"):
        get_calculator("ase:nocolon")
    with pytest.raises(ThioglassError, match="cannot import"):
        get_calculator("ase:ase.calculators.nothing:Nope")
    assert {r.name for r in list_references()} >= {"sevennet-0", "chgnet-0.3.0"}


def test_vasp_inputs_carry_the_papers_settings(tmp_path, monkeypatch):
    for element in ("Li", "P", "S"):
        potcar = tmp_path / "pp" / "potpaw_PBE" / element / "POTCAR"
        potcar.parent.mkdir(parents=True)
        potcar.write_text(f"  PAW_PBE {element} 01Jan2000\n   1.0\n parameters from PSCTR are:\n   ZVAL   =    1.000    mass and valenz\n TITEL  = PAW_PBE {element}\n End of Dataset\n")
    monkeypatch.setenv("VASP_PP_PATH", str(tmp_path / "pp"))
    atoms = Atoms("Li3PS4", scaled_positions=np.random.default_rng(0).random((8, 3)), cell=[6, 7, 8], pbc=True)
    folder = write_vasp_inputs(atoms, tmp_path / "run", VaspSettings())
    incar = {k.strip().upper(): v.strip() for k, v in (line.split("=", 1) for line in (folder / "INCAR").read_text().splitlines() if "=" in line)}
    assert float(incar["ENCUT"]) == 500 and float(incar["KSPACING"]) == 0.5 and float(incar["EDIFF"]) == 1e-5
    assert incar["GGA"] == "PS" and incar["KGAMMA"].upper().startswith(".FALSE") and int(incar["NSW"]) == 0
    assert (folder / "POSCAR").exists() and (folder / "POTCAR").read_text().count("End of Dataset") == 3


def test_vasp_inputs_need_potcars(tmp_path, monkeypatch):
    monkeypatch.delenv("VASP_PP_PATH", raising=False)
    with pytest.raises(ThioglassError, match="VASP_PP_PATH"):
        write_vasp_inputs(bulk("Si"), tmp_path)


def test_sevennet_labels_a_thiophosphate(tmp_path):
    from ase.io import read
    from importlib.resources import files

    path = files("thioglass") / "data" / "structures" / "Li3PS4_beta-Pnma_mp-985583-r2SCAN.vasp"
    atoms = read(str(path))
    atoms.rattle(0.02, seed=3)
    label = label_atoms(atoms, get_calculator("sevennet-0"))
    assert -6.0 < label.energy_ev / len(atoms) < -3.0
    assert np.abs(label.forces_ev_per_angstrom.sum(axis=0)).max() < 1e-3
    assert label.virial_ev.shape == (3, 3) and np.allclose(label.virial_ev, label.virial_ev.T, atol=1e-4)
