"""DeePMD datasets, training with resume, freezing/compression, evaluation and ensemble deviation.

Labels come from a Lennard-Jones calculator on strained, rattled beta-Li3PS4: cheap, smooth, and
enough to check that the machinery learns, resumes and measures correctly.
"""

from __future__ import annotations

from importlib.resources import files
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.io import read, write
from ase.neighborlist import neighbor_list

from thioglass.errors import ThioglassError
from thioglass.mlff.config import FAST, Schedule, TrainSettings
from thioglass.mlff.dataset import (SplitSettings, export_labels, import_labels, store_frames, summarise,
                                    write_training_sets)
from thioglass.mlff.evaluate import max_force_deviation, parity, predict
from thioglass.mlff.train import neighbour_sel, read_lcurve, train_model
from thioglass.reference.label import LabelStore, label_frames

LJ = "ase:ase.calculators.lj:LennardJones"
TYPE_MAP = ("Li", "Si", "P", "S")


def _frames(n: int, seed: int = 0) -> list[Atoms]:
    base = read(str(files("thioglass") / "data" / "structures" / "Li3PS4_beta-Pnma_mp-985583-r2SCAN.vasp"))
    rng = np.random.default_rng(seed)
    frames = []
    for k in range(n):
        atoms = base.copy()
        atoms.set_cell(atoms.cell * (1 + rng.uniform(-0.03, 0.03)), scale_atoms=True)
        atoms.rattle(0.05, seed=seed * 1000 + k)
        frames.append(atoms)
    return frames


@pytest.fixture(scope="module")
def dataset(tmp_path_factory):
    root = tmp_path_factory.mktemp("mlff")
    store = LabelStore(root / "labels")
    label_frames(_frames(24), LJ, store)
    folders = write_training_sets(store, root / "data", SplitSettings(validation_fraction=0.2, seed=0))
    sel = neighbour_sel(folders["train"], FAST.rcut_angstrom, TYPE_MAP)
    return root, store, folders, sel


@pytest.fixture(scope="module")
def trained(dataset):
    root, store, folders, sel = dataset
    settings = TrainSettings(architecture=FAST, schedule=Schedule(steps=40, disp_freq=10, save_freq=20), sel=sel)
    first = train_model(root / "model", settings, folders["train"], folders["validation"], compress=False, threads=2)
    longer = settings.with_(schedule=Schedule(steps=120, disp_freq=10, save_freq=20))
    second = train_model(root / "model", longer, folders["train"], folders["validation"], compress=True, threads=2)
    return root, first, second, longer


def test_split_is_reproducible_and_complete(dataset, tmp_path):
    root, store, folders, _ = dataset
    again = write_training_sets(store, tmp_path / "again", SplitSettings(validation_fraction=0.2, seed=0))

    def count(dirs):
        return sum(np.load(f"{d}/set.000/energy.npy").size for d in dirs)

    assert count(folders["train"]) + count(folders["validation"]) == 24
    assert count(again["validation"]) == count(folders["validation"]) > 0
    assert summarise(store)["frames"] == 24


def test_sel_covers_every_neighbour(dataset):
    _, store, _, sel = dataset
    atoms, _ = next(iter(store_frames(store)))
    i, j = neighbor_list("ij", atoms, FAST.rcut_angstrom)
    symbols = np.array(atoms.get_chemical_symbols())
    for t, element in enumerate(TYPE_MAP):
        per_atom = np.bincount(i[symbols[j] == element], minlength=len(atoms))
        assert sel[t] >= per_atom.max() and sel[t] % 4 == 0


def test_sel_covers_the_densest_frame_of_many_systems(tmp_path):
    """20 systems of 20 frames; one frame, not the first of its system, is compressed by 30 %: sel must hold
    its neighbours too (counted here with ASE, independently of the code under test)."""
    import dpdata

    rng = np.random.default_rng(3)
    folders, densest = [], np.zeros(len(TYPE_MAP), dtype=int)
    for k in range(20):
        symbols = ["Li"] * (6 + k % 5) + ["S"] * 3
        cells, coords = [], []
        for f in range(20):
            scale = 0.7 if (k, f) == (7, 13) else 1.0
            cell = np.eye(3) * 7.0 * scale
            cells.append(cell)
            coords.append(rng.uniform(0, 1, (len(symbols), 3)) @ cell)
            atoms = Atoms(symbols, positions=coords[-1], cell=cell, pbc=True)
            i, j = neighbor_list("ij", atoms, FAST.rcut_angstrom)
            for t, element in enumerate(TYPE_MAP):
                per_atom = np.bincount(i[np.array(symbols)[j] == element], minlength=len(symbols))
                densest[t] = max(densest[t], per_atom.max())
        types = np.array([TYPE_MAP.index(s) for s in symbols])
        system = dpdata.System(data={"atom_names": list(TYPE_MAP), "atom_numbs": [int((types == t).sum()) for t in range(4)],
                                     "atom_types": types, "orig": np.zeros(3), "cells": np.array(cells),
                                     "coords": np.array(coords), "nopbc": False})
        system.to_deepmd_npy(str(tmp_path / f"sys{k:02d}"))
        folders.append(str(tmp_path / f"sys{k:02d}"))
    sel = neighbour_sel(folders, FAST.rcut_angstrom, TYPE_MAP, margin=1.0)
    assert tuple(sel) == tuple(int(np.ceil(max(d, 1) / 4) * 4) for d in densest)


def test_training_resumes_and_is_not_repeated(trained):
    root, first, second, longer = trained
    assert first.steps == 40 and second.steps == 120
    log = (root / "model" / "train.log").read_text()
    assert "restart from model" in log
    curve = read_lcurve(root / "model" / "lcurve.out")
    assert curve[120]["rmse_trn"] < curve[0]["rmse_trn"]
    size = (root / "model" / "train.log").stat().st_size
    train_model(root / "model", longer, [], [], compress=True)  # finished: no data needed, nothing rerun
    assert (root / "model" / "train.log").stat().st_size == size


def test_model_learns_and_compression_preserves_it(dataset, trained):
    _, store, _, _ = dataset
    _, _, second, _ = trained
    frames = list(store_frames(store))
    metrics = parity(second.frozen_model, frames).metrics()
    energies = np.array([label.energy_ev / len(atoms) for atoms, label in frames])
    assert metrics["rmse_energy_mev_per_atom"] < 1000 * energies.std() * 3
    forces = np.concatenate([label.forces_ev_per_angstrom for _, label in frames])
    assert metrics["rmse_force_ev_per_angstrom"] < np.sqrt(np.mean(forces**2))
    compressed = parity(second.compressed_model, frames).metrics()
    assert compressed["rmse_force_ev_per_angstrom"] == pytest.approx(metrics["rmse_force_ev_per_angstrom"], rel=1e-2)


def test_forces_are_minus_energy_gradient(trained):
    _, _, second, _ = trained
    atoms = _frames(1, seed=5)[0]
    _, forces, _ = predict(second.frozen_model, atoms)
    h = 1e-3
    shifted = [atoms.copy(), atoms.copy()]
    shifted[0].positions[2, 1] += h
    shifted[1].positions[2, 1] -= h
    de = predict(second.frozen_model, shifted[0])[0] - predict(second.frozen_model, shifted[1])[0]
    assert forces[2, 1] == pytest.approx(-de / (2 * h), abs=2e-3)


def test_ensemble_deviation(dataset, trained):
    root, store, folders, sel = dataset
    _, _, second, longer = trained
    other = train_model(root / "model_seed2", longer.with_(seed=7), folders["train"], folders["validation"],
                        compress=False, threads=2)
    atoms = _frames(1, seed=9)[0]
    assert max_force_deviation([second.frozen_model, second.frozen_model], atoms) == pytest.approx(0, abs=1e-9)
    assert max_force_deviation([second.frozen_model, other.frozen_model], atoms) > 0


def test_wrong_elements_and_missing_model(trained):
    _, _, second, _ = trained
    with pytest.raises(ThioglassError, match="the model knows"):
        predict(second.frozen_model, Atoms("Ge2", positions=[[0, 0, 0], [1.5, 1.5, 1.5]], cell=[8, 8, 8], pbc=True))
    with pytest.raises(ThioglassError, match="does not exist"):
        predict("/nonexistent/model.pb", _frames(1)[0])


def test_import_extxyz_labels_and_reject_nan(tmp_path):
    from ase.calculators.singlepoint import SinglePointCalculator

    frames = _frames(3, seed=3)
    for k, atoms in enumerate(frames):
        atoms.calc = SinglePointCalculator(atoms, energy=-1.0 - k, forces=np.zeros((len(atoms), 3)), stress=np.zeros(6))
    write(tmp_path / "dft.extxyz", frames)
    store = LabelStore(tmp_path / "store")
    assert import_labels(tmp_path / "dft.extxyz", store) == 3
    assert import_labels(tmp_path / "dft.extxyz", store) == 0  # duplicates collapse
    import gzip

    (tmp_path / "dft.extxyz.gz").write_bytes(gzip.compress((tmp_path / "dft.extxyz").read_bytes()))
    assert import_labels(tmp_path / "dft.extxyz.gz", LabelStore(tmp_path / "from_gz")) == 3
    frames[0].calc = SinglePointCalculator(frames[0], energy=np.nan, forces=np.zeros((len(frames[0]), 3)))
    write(tmp_path / "bad.extxyz", frames[:1])
    with pytest.raises(ThioglassError, match="NaN"):
        import_labels(tmp_path / "bad.extxyz", LabelStore(tmp_path / "bad"))
    with pytest.raises(ThioglassError, match="does not exist"):
        import_labels(tmp_path / "nothing.xyz", store)


def test_export_and_import_round_trip_labels(dataset, tmp_path):
    _, store, _, _ = dataset
    assert export_labels(store, tmp_path / "all.extxyz") == 24
    copy = LabelStore(tmp_path / "copy")
    assert import_labels(tmp_path / "all.extxyz", copy) == 24
    # A resumed run finds its imported frames under the keys it computes from the frames in memory.
    assert sorted(copy.keys()) == sorted(store.keys())
    exported = sorted(store_frames(store), key=lambda item: item[1].energy_ev)
    imported = sorted(store_frames(copy), key=lambda item: item[1].energy_ev)
    for (atoms, label), (atoms2, label2) in zip(exported, imported):
        assert label2.energy_ev == pytest.approx(label.energy_ev)
        assert np.allclose(atoms2.positions, atoms.positions, atol=1e-6)
        assert np.allclose(label2.forces_ev_per_angstrom, label.forces_ev_per_angstrom)
        assert np.allclose(label2.virial_ev, label.virial_ev, atol=1e-8)


def test_export_leaves_out_frames_already_committed(dataset, tmp_path):
    """A loop's milestone export skips the frames of its initial label files: they are in the repository."""
    from pathlib import Path

    _, store, _, _ = dataset
    export_labels(store, tmp_path / "all.extxyz.gz")
    skipped = sorted(store.keys())[:10]
    assert export_labels(store, tmp_path / "rest.extxyz", skip=skipped) == 14
    rest = {a.info["frame_key"] for a in read(tmp_path / "rest.extxyz", ":")}
    assert rest == set(store.keys()) - set(skipped)
    import importlib.util
    import sys

    spec = importlib.util.spec_from_file_location("learn_state", Path(__file__).parents[1] / "training" / "learn_state.py")
    module = importlib.util.module_from_spec(spec)
    sys.modules["learn_state"] = module
    spec.loader.exec_module(module)
    assert module.frame_keys([tmp_path / "all.extxyz.gz"]) == set(store.keys())


def test_export_is_replaced_whole_or_not_at_all(dataset, tmp_path, monkeypatch):
    """A kill during an export (the seed script exports after every run) must leave the previous file whole:
    the file is committed, and a cut-short gzip would lose every label in it."""
    import gzip

    import ase.io

    _, store, _, _ = dataset
    path = tmp_path / "labels.extxyz.gz"
    assert export_labels(store, path) == 24
    with gzip.open(path) as handle:  # still gzip-compressed through the temporary name
        assert handle.read(10)
    before = path.read_bytes()

    def killed(filename, images, **kwargs):
        Path(filename).write_bytes(b"cut short")
        raise KeyboardInterrupt

    monkeypatch.setattr(ase.io, "write", killed)
    with pytest.raises(KeyboardInterrupt):
        export_labels(store, path)
    assert path.read_bytes() == before
    assert len(read(path, ":")) == 24
