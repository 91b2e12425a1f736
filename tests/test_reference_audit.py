"""Scoring references against DFT labels of a tagged audit set (EMT stands in for both sides)."""

from __future__ import annotations

import numpy as np
import pytest
from ase.build import bulk
from ase.io import write

from thioglass.errors import ThioglassError
from thioglass.mlff.dataset import export_labels
from thioglass.reference.audit import (AuditFrame, audit_references, energy_differences, load_audit, markdown_groups,
                                       markdown_table, score, slope_through_origin)
from thioglass.reference.label import LabelStore, label_frames

EMT = "ase:ase.calculators.emt:EMT"


def _frames():
    frames = []
    for n, (kind, temperature) in enumerate([("ideal", 0.0), ("thermal", 300.0), ("thermal", 650.0)]):
        atoms = bulk("Cu", "fcc", a=3.6, cubic=True).repeat((2, 1, 1))
        if kind == "thermal":
            atoms.rattle(0.02 * (n + 1), seed=n)
        atoms.info.update(family="Cu", system="crystal Cu", kind=kind, temperature_k=temperature)
        frames.append(atoms)
    return frames


@pytest.fixture()
def audit_files(tmp_path):
    frames = _frames()
    write(tmp_path / "frames.extxyz", frames, format="extxyz")
    store = LabelStore(tmp_path / "store")
    label_frames(frames[:2], EMT, store)  # a partly labelled set: the 650 K frame is not labelled yet
    export_labels(store, tmp_path / "labels.extxyz.gz")
    return tmp_path / "frames.extxyz", tmp_path / "labels.extxyz.gz"


def test_partly_labelled_set_is_scored_on_its_labelled_frames(audit_files):
    frames = load_audit(*audit_files)
    assert [f.tags["kind"] for f in frames] == ["ideal", "thermal"]
    result = audit_references([EMT], frames)
    row = result["references"][EMT]
    # The reference is the labeller itself: a perfect score, which the numbers must show.
    assert row["frames"] == 2 and row["energy_differences"] == 1
    assert row["force_rmse_ev_per_angstrom"] == pytest.approx(0, abs=1e-6)  # extxyz rounding
    assert row["force_slope"] == pytest.approx(1.0)
    assert row["pressure_error_rmse_gpa"] == pytest.approx(0, abs=1e-6)
    assert row["energy_difference_ratio"] == pytest.approx(1.0)
    assert f"| {EMT} | 1.00 | 0.000 |" in markdown_table(result)
    # The ideal frame is static, the rattled one thermal: each group is scored on its own frames.
    assert {g: s["frames"] for g, s in row["by_group"].items()} == {"thermal": 1, "static": 1}
    assert f"| {EMT} | 1.00 / 0.000 | +0.00 | +0.00 / 0.00 |" in markdown_groups(result)


def test_softened_reference_shows_its_slope_and_energy_ratio():
    atoms = bulk("Cu", "fcc", a=3.6, cubic=True)
    forces = np.array([[1.0, -2.0, 0.5]] * 4)
    frames = [AuditFrame(str(k), {"system": "s", "kind": "glass", "temperature_k": t}, atoms, e, forces, np.zeros((3, 3)))
              for k, (t, e) in enumerate([(300.0, -10.0), (650.0, -9.6)])]
    predicted = [(energy, 0.6 * forces, -np.eye(3) / 160.21766208) for energy in (-5.0, -4.8)]
    row = score(frames, predicted)
    assert row["force_slope"] == pytest.approx(0.6)
    assert row["pressure_error_mean_gpa"] == pytest.approx(1.0)  # stress -1 GPa on the diagonal: P = +1 GPa
    # DFT: +100 meV/atom between the frames (0.4 eV / 4 atoms); reference: +50.
    assert row["energy_difference_ratio"] == pytest.approx(0.5)
    assert row["glass_650_minus_300"]["s"]["ratio"] == pytest.approx(0.5)


def test_energy_differences_anchor_on_the_lowest_dft_frame():
    atoms = bulk("Cu", "fcc", a=3.6)
    frames = [AuditFrame(str(k), {"system": "s"}, atoms, e, np.zeros((1, 3)), np.zeros((3, 3)))
              for k, e in enumerate([-1.0, -3.0, -2.0])]
    rows = energy_differences(frames, [0.0, -1.0, 0.0])
    assert [r["dft_mev_per_atom"] for r in rows] == pytest.approx([2000.0, 1000.0])
    assert [r["reference_mev_per_atom"] for r in rows] == pytest.approx([1000.0, 1000.0])
    assert np.isnan(slope_through_origin(np.array([1.0, 2.0]), np.zeros(2)))  # no DFT spread: no slope


def test_no_labelled_frame_is_one_line(tmp_path, audit_files):
    frames_path, labels_path = audit_files
    other = bulk("Cu", "fcc", a=3.7, cubic=True)
    write(tmp_path / "other.extxyz", [other], format="extxyz")
    with pytest.raises(ThioglassError, match="none of the frames"):
        load_audit(tmp_path / "other.extxyz", labels_path)


def test_heldout_split_takes_a_third_of_each_system_by_key():
    from thioglass.reference.audit import split_audit

    atoms = bulk("Cu", "fcc", a=3.6)
    frames = [AuditFrame(f"{k:016x}", {"system": system}, atoms, 0.0, np.zeros((1, 3)), np.zeros((3, 3)))
              for system, n in (("a", 5), ("b", 2), ("c", 1)) for k in range(n)]
    parts = split_audit(frames[::-1])  # the order frames come in does not matter
    held = sorted((f.tags["system"], f.key) for f in parts["heldout"])
    assert held == [("a", f"{1:016x}"), ("a", f"{4:016x}"), ("b", f"{1:016x}")]
    assert len(parts["tuning"]) == 5 and not {f.key for f in parts["tuning"]} & {k for s, k in held if s == "a"}


def test_a_deepmd_model_is_scored_like_a_reference(tmp_path):
    """A frozen model (.pb) goes through the one potential resolver: scored against its own labels it is exact."""
    from pathlib import Path

    from thioglass.build.crystals import load_crystal
    from thioglass.mlff.evaluate import predict

    model = str(Path(__file__).parent / "data" / "tiny_li3ps4.pb")
    frames = []
    for k, temperature in enumerate((0.0, 300.0)):
        atoms = load_crystal("beta-Li3PS4")
        atoms.rattle(0.03 * k, seed=k)
        energy, forces, virial = predict(model, atoms)
        frames.append(AuditFrame(str(k), {"system": "crystal beta-Li3PS4", "kind": "thermal", "temperature_k": temperature},
                                 atoms, energy, forces, -virial / atoms.get_volume()))
    row = audit_references([model], frames)["references"][model]
    assert row["force_slope"] == pytest.approx(1.0, abs=1e-4)
    assert row["force_rmse_ev_per_angstrom"] == pytest.approx(0.0, abs=1e-4)
    assert row["pressure_error_mean_gpa"] == pytest.approx(0.0, abs=1e-3)
