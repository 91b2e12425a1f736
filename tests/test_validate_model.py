"""`thioglass validate-model`: the EOS smoothness check, motif counting on the bundled crystals, and the whole
command on toy potentials (ase:toy_calculators:ToyLJ as the reference; itself passes, a softened copy fails)."""

from __future__ import annotations

import json

import numpy as np
import pytest

from thioglass.analysis.eos import fit_energy_volume, fit_pressure_volume, pressure_smoothness
from thioglass.analysis.motifs import CRYSTAL_MOTIFS, motif_counts, motif_verdict
from thioglass.errors import ThioglassError

REFERENCE = "ase:toy_calculators:ToyLJ"
BROKEN = "ase:toy_calculators:SoftToyLJ"
# A tiny configuration: one crystal per check, a few MD steps, a toy cutoff so unit cells are wide enough.
TINY = ["heldout_crystals=Li2S", "glasses=", "heldout_temperatures_k=300,1500", "reference_md_ps=0.02",
        "minimum_crystals=Li2S,Li4P2S6", "eos_points=7", "elastic_crystals=Li2S", "motif_crystals=Li4P2S6",
        "model_md_ps=0.05", "model_dump_every_ps=0.01", "fallback_cutoff_angstrom=2.5", "relax_max_steps=200"]


def birch_murnaghan_pressure(volume, v0=100.0, b0=50.0, b1=4.5):
    x = (v0 / np.asarray(volume)) ** (2 / 3)
    return 1.5 * b0 * (x**3.5 - x**2.5) * (1 + 0.75 * (b1 - 4) * (x - 1))


def test_smooth_eos_passes_and_a_kinked_one_fails():
    volumes = 100 * np.linspace(0.94, 1.06, 9)
    smooth = pressure_smoothness(volumes, birch_murnaghan_pressure(volumes))
    assert smooth["smooth"] and smooth["monotonic"] and smooth["max_relative_slope_change"] < 0.2
    # The shipped model's Li2S: pressure flat over a stretch of volume, then a jump of 3 GPa.
    kinked = birch_murnaghan_pressure(volumes)
    kinked[5:7] = kinked[5]
    kinked[:3] += 3.0
    result = pressure_smoothness(volumes, kinked)
    assert not result["smooth"] and result["max_relative_slope_change"] > 1
    rising = birch_murnaghan_pressure(volumes)
    rising[4] = rising[3] + 0.5
    assert not pressure_smoothness(volumes, rising)["monotonic"]


def test_a_kink_the_reference_has_too_is_not_held_against_the_model():
    from thioglass.mlff.validation.minimum import smoothness_verdict
    from thioglass.mlff.validation.settings import preset

    settings = preset("quick")
    smooth_reference = {"monotonic": True, "max_relative_slope_change": 0.14}
    rough_reference = {"monotonic": True, "max_relative_slope_change": 0.8}
    kinked_model = {"monotonic": True, "max_relative_slope_change": 1.0}
    assert not smoothness_verdict(kinked_model, smooth_reference, settings)["passed"]
    assert smoothness_verdict(kinked_model, rough_reference, settings)["passed"]
    flat_model = {"monotonic": False, "max_relative_slope_change": 0.3}
    assert not smoothness_verdict(flat_model, rough_reference, settings)["passed"]


def test_energy_volume_fit_recovers_the_bulk_modulus():
    from ase.eos import birchmurnaghan

    from thioglass.analysis.eos import EV_PER_A3_TO_GPA

    volumes = 100 * np.linspace(0.94, 1.06, 9)
    energies = birchmurnaghan(volumes, -5.0, 45.0 / EV_PER_A3_TO_GPA, 4.5, 100.0)
    fit = fit_energy_volume(volumes, energies)
    assert fit["bulk_modulus_gpa"] == pytest.approx(45.0, rel=1e-3) and fit["inside_scan"]
    with pytest.raises(ThioglassError, match="at least 4"):
        fit_energy_volume(volumes[:3], energies[:3])
    from_pressure = fit_pressure_volume(volumes, birch_murnaghan_pressure(volumes, b0=45.0))
    assert from_pressure["bulk_modulus_gpa"] == pytest.approx(45.0, rel=0.02)
    assert fit_pressure_volume(volumes, np.full(volumes.size, -0.1))["bulk_modulus_gpa"] is None  # unbound


@pytest.mark.parametrize("crystal, expected", [
    ("Li4P2S6", {"P-P": 1}), ("beta-Li3PS4", {"P0": 4}), ("Li7P3S11", {"P1": 4}), ("SiS2", {"Si edge": 2}),
    ("P2S5", {"P3": 8}), ("Li10SiP2S12", {"P0": 4, "Si0": 2})])
def test_every_bundled_crystal_holds_its_motifs(crystal, expected):
    from thioglass.build.crystals import load_crystal

    assert set(expected) == set(CRYSTAL_MOTIFS[crystal])
    assert motif_counts(load_crystal(crystal), CRYSTAL_MOTIFS[crystal]) == expected


def test_a_broken_dimer_is_no_longer_counted():
    from thioglass.build.crystals import load_crystal

    cell = load_crystal("Li4P2S6")
    assert motif_counts(cell.repeat((2, 2, 2)), ["P-P"])["P-P"] == 8
    # The P-P bond (2.27 Å) lies along c; moving one P 1.5 Å sideways puts its partner 2.7 Å away.
    cell.positions[np.flatnonzero(cell.numbers == 15)[0], 0] += 1.5
    assert motif_counts(cell.repeat((2, 2, 2)), ["P-P"])["P-P"] == 0


def test_motif_verdict():
    assert motif_verdict(8.0, 8.0, 8.0, tolerance=0.25) == "kept"
    assert motif_verdict(0.0, 8.0, 8.0, tolerance=0.25) == "lost"
    assert motif_verdict(5.0, 8.0, 8.0, tolerance=0.25) == "lost"
    assert motif_verdict(0.0, 2.0, 8.0, tolerance=0.25) == "not kept by the reference"


def test_supercells_are_wider_than_twice_the_cutoff_and_small():
    from thioglass.build.crystals import load_crystal
    from thioglass.mlff.validation.subject import cell_widths, wide_supercell

    primitive = load_crystal("P2S5")
    cell = wide_supercell(primitive, 10.0)
    assert cell_widths(cell.cell).min() > 10.0
    assert len(cell) <= len(primitive.repeat([int(10 // w) + 1 for w in cell_widths(primitive.cell)]))


def test_the_shipped_model_reads_its_reference_and_cutoff_from_its_card():
    from thioglass.mlff.validation.settings import preset
    from thioglass.mlff.validation.subject import resolve_subject

    subject = resolve_subject(None, None, preset("quick"))
    assert subject.reference == "sevennet-mf-0-r2scan" and subject.cutoff_angstrom == 5.0
    assert subject.elements == ("Li", "Si", "P", "S") and subject.is_deepmd


def test_bad_input_is_one_line_before_any_work(cli, tmp_path):
    code, err = cli("validate-model", "-o", str(tmp_path / "a"), "--model", str(tmp_path / "missing.pb"))
    assert code == 2 and "does not exist" in err and "\n" not in err
    fake = tmp_path / "fake.pb"
    fake.write_text("not a model")
    code, err = cli("validate-model", "-o", str(tmp_path / "b"), "--model", str(fake))
    assert code == 2 and "DeePMD" in err
    code, err = cli("validate-model", "-o", str(tmp_path / "c"), "--model", REFERENCE)
    assert code == 2 and "--reference" in err
    code, err = cli("validate-model", "-o", str(tmp_path / "d"), "--model", REFERENCE, "--reference", "nonsense")
    assert code == 2 and "unknown potential" in err
    code, err = cli("validate-model", "-o", str(tmp_path / "e"), "--model", REFERENCE, "--reference", REFERENCE,
                    "--set", "no_such_setting=1")
    assert code == 2 and "no_such_setting" in err
    blocker = tmp_path / "file"
    blocker.write_text("")
    code, err = cli("validate-model", "-o", str(blocker / "sub"), "--model", REFERENCE, "--reference", REFERENCE)
    assert code == 2 and str(blocker) in err and "\n" not in err
    assert not (tmp_path / "c").exists() and not (tmp_path / "d").exists()


def _run(cli, out, model):
    return cli("validate-model", "-o", str(out), "--model", model, "--reference", REFERENCE,
               *[arg for item in TINY for arg in ("--set", item)])


def test_the_reference_passes_its_own_validation_and_a_rerun_resumes(cli, tmp_path):
    code, err = _run(cli, tmp_path, REFERENCE)
    assert code == 0, err
    result = json.loads((tmp_path / "validation-model.json").read_text())
    assert result["passed"] and {row["check"] for row in result["checks"]} == {
        "held-out frames", "crystal at the reference's minimum", "bonding motifs"}
    assert result["heldout"]["by_family"]["Li2S"]["rmse_force_ev_per_angstrom"] < 1e-6  # extxyz keeps 8 digits
    assert "| pass |" in (tmp_path / "model-validation.md").read_text()
    # Labels were stored as the reference's MD made them: recomputing one gives the same numbers.
    from thioglass.reference.calculators import get_calculator
    from thioglass.reference.label import LabelStore, label_atoms

    store = LabelStore(tmp_path / "labels")
    atoms, label = store.load(store.keys()[-1])
    again = label_atoms(atoms, get_calculator(REFERENCE))
    assert again.energy_ev == pytest.approx(label.energy_ev, abs=1e-6)
    assert np.allclose(again.forces_ev_per_angstrom, label.forces_ev_per_angstrom, atol=1e-6)
    assert np.allclose(again.virial_ev, label.virial_ev, atol=1e-5)
    # A rerun finds every step done and writes the same verdicts.
    (tmp_path / "validation-model.json").unlink()
    assert _run(cli, tmp_path, REFERENCE)[0] == 0
    assert json.loads((tmp_path / "validation-model.json").read_text())["checks"] == result["checks"]
    code, err = cli("validate-model", "-o", str(tmp_path), "--model", REFERENCE, "--reference", REFERENCE)
    assert code == 2 and "other settings" in err
    # Another target only judges again what was measured: an impossible force target fails that row alone.
    code, err = cli("validate-model", "-o", str(tmp_path), "--model", REFERENCE, "--reference", REFERENCE,
                    *[arg for item in [*TINY, "force_target_ev_per_angstrom=1e-12"] for arg in ("--set", item)])
    assert code == 1
    rows = json.loads((tmp_path / "validation-model.json").read_text())["checks"]
    assert [row["check"] for row in rows if not row["passed"]] == ["held-out frames"]


def test_a_softened_model_fails(cli, tmp_path):
    code, err = _run(cli, tmp_path, BROKEN)
    assert code == 1 and "FAIL" in err
    result = json.loads((tmp_path / "validation-model.json").read_text())
    failed = {(row["check"], row["system"], row["quantity"].split(" (")[0]) for row in result["checks"] if not row["passed"]}
    assert ("held-out frames", "Li2S", "RMSE E / F") in failed
    assert ("crystal at the reference's minimum", "Li2S", "lattice a, b, c and density") in failed
    assert ("crystal at the reference's minimum", "Li2S", "elastic B_VRH") in failed
    assert "**FAIL**" in (tmp_path / "model-validation.md").read_text()


@pytest.mark.slow
def test_the_shipped_model_fails_where_issue_13_says(tmp_path):
    """The shipped model against its reference: Li2S's P(V) is kinked and Li4P2S6 loses its P-P bonds."""
    from thioglass.mlff.validation.minimum import run_minimum
    from thioglass.mlff.validation.motifs import run_motifs
    from thioglass.mlff.validation.settings import preset
    from thioglass.mlff.validation.subject import resolve_subject

    settings = preset("quick", minimum_crystals=("Li2S",), elastic_crystals=(), motif_crystals=("Li4P2S6",),
                      reference_md_ps=0.02, model_md_ps=0.5)
    subject = resolve_subject(None, None, settings)
    common = {"threads": 1, "client": None, "log": print}
    li2s = run_minimum(subject, settings, tmp_path, **common)["crystals"]["Li2S"]
    assert li2s["reference_relaxed"]["converged"] and li2s["eos"]["reference"]["smoothness"]["smooth"]
    assert not li2s["eos_smooth"]["passed"]
    run = run_motifs(subject, settings, tmp_path, **common)["runs"][0]
    assert run["motifs"]["P-P"]["reference"] == 8 and run["motifs"]["P-P"]["verdict"] == "lost"


def test_a_model_file_is_known_by_its_content(tmp_path):
    from thioglass.mlff.validation.run import check_settings_file
    from thioglass.mlff.validation.settings import preset
    from thioglass.mlff.validation.subject import Subject

    settings = preset("quick")
    for name, content in (("a.pb", b"model one"), ("b.pb", b"model one"), ("c.pb", b"model two")):
        (tmp_path / name).write_bytes(content)
    out = tmp_path / "out"
    out.mkdir()
    check_settings_file(out, Subject(str(tmp_path / "a.pb"), REFERENCE, 5.0, ("Li",)), settings)
    check_settings_file(out, Subject(str(tmp_path / "b.pb"), REFERENCE, 5.0, ("Li",)), settings)  # moved: resumes
    with pytest.raises(ThioglassError, match="other settings, model or reference"):
        check_settings_file(out, Subject(str(tmp_path / "c.pb"), REFERENCE, 5.0, ("Li",)), settings)


def test_a_second_model_reuses_the_reference_side_of_another_validation(cli, tmp_path):
    """--reference-from copies the reference's runs, relaxations and labels instead of recomputing them."""
    first, second = tmp_path / "broken", tmp_path / "again"
    assert _run(cli, first, BROKEN)[0] == 1
    # Mark one reference result: a recomputed file would not carry the mark.
    marked = first / "minimum" / "Li2S" / "reference-relaxed.json"
    record = json.loads(marked.read_text())
    marked.write_text(json.dumps({**record, "mark": "from the first validation"}))
    code, err = cli("validate-model", "-o", str(second), "--model", REFERENCE, "--reference", REFERENCE,
                    "--reference-from", str(first), *[arg for item in TINY for arg in ("--set", item)])
    assert code == 0, err
    assert "reused" in err
    assert json.loads((second / "minimum" / "Li2S" / "reference-relaxed.json").read_text())["mark"]
    # The model's own results are its own: the softened model's energy at the reference's cell is not copied.
    at_geometry = "minimum/Li2S/model-at-reference.json"
    assert (first / at_geometry).read_bytes() != (second / at_geometry).read_bytes()
    ref_runs = sorted(p.name for p in (first / "md" / "reference").iterdir())
    assert ref_runs == sorted(p.name for p in (second / "md" / "reference").iterdir())
    for run in ref_runs:  # the same frames, not a new run
        for traj in (first / "md" / "reference" / run).rglob("traj.extxyz"):
            assert traj.read_bytes() == (second / traj.relative_to(first)).read_bytes()
    result = json.loads((second / "validation-model.json").read_text())
    assert result["passed"]  # the reference judged against its own copied results
    # A shorter validation draws on the longer one: only the runs it checks are copied.
    short = tmp_path / "short"
    code, err = cli("validate-model", "-o", str(short), "--model", REFERENCE, "--reference", REFERENCE,
                    "--reference-from", str(first),
                    *[arg for item in [*TINY, "minimum_crystals=Li2S", "motif_crystals="] for arg in ("--set", item)])
    assert code == 0, err
    assert sorted(p.name for p in (short / "md" / "reference").iterdir()) == ["Li2S-1500K", "Li2S-300K"]
    assert sorted(p.name for p in (short / "minimum").iterdir()) == ["Li2S"]
    # Another reference-side setting: one line, before any work.
    code, err = cli("validate-model", "-o", str(tmp_path / "other"), "--model", REFERENCE, "--reference", REFERENCE,
                    "--reference-from", str(first),
                    *[arg for item in [*TINY, "reference_md_ps=0.03"] for arg in ("--set", item)])
    assert code == 2 and "reference_md_ps" not in err and "settings" in err and "\n" not in err.strip()
    assert not (tmp_path / "other" / "labels").exists()
    code, err = cli("validate-model", "-o", str(tmp_path / "none"), "--model", REFERENCE, "--reference", REFERENCE,
                    "--reference-from", str(tmp_path), *[arg for item in TINY for arg in ("--set", item)])
    assert code == 2 and "reference-side.json" in err
