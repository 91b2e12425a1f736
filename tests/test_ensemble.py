"""The ensemble API (thioglass.mlff.ensemble): members, type maps, the deviation kernel and its statistics."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pytest

from thioglass.errors import ThioglassError
from thioglass.mlff import ensemble as ens

DATA = Path(__file__).parent / "data"
TINY = DATA / "tiny_li3ps4.pb"


def test_type_map_read_without_tensorflow():
    from thioglass.potential import bundled_model_path, default_model_card

    assert ens.model_type_map(TINY) == ("Li", "Si", "P", "S")
    assert ens.model_type_map(bundled_model_path()) == tuple(default_model_card()["type_map"])


def test_type_map_of_a_graph_without_one_fails_in_one_line(tmp_path):
    fake = tmp_path / "fake.pb"
    fake.write_bytes(b"\x0a\x05\x0a\x03abc" + b"model_attr")
    with pytest.raises(ThioglassError, match="no type map"):
        ens.model_type_map(fake)


def test_members_are_checked_up_front(tmp_path):
    text = tmp_path / "text.pb"
    text.write_text("not a model")
    with pytest.raises(ThioglassError, match="not a frozen DeePMD-kit model"):
        ens.ensemble_for(str(TINY), [str(text)])
    with pytest.raises(ThioglassError, match="production model itself"):
        ens.ensemble_for(str(TINY), [str(TINY)])
    with pytest.raises(ThioglassError, match="needs a DeePMD potential"):
        ens.ensemble_for("sevennet-0", [str(TINY)])
    with pytest.raises(ThioglassError, match="does not exist"):
        ens.ensemble_for(str(TINY), [str(tmp_path / "missing.pb")])


def test_type_map_mismatch_is_refused(tmp_path):
    swapped = tmp_path / "swapped.pb"
    swapped.write_bytes(TINY.read_bytes().replace(b"Li Si P S", b"Li Si S P"))
    with pytest.raises(ThioglassError, match="type map Li Si S P"):
        ens.ensemble_for(str(TINY), [str(swapped)])


def test_no_ensemble_says_so_and_does_not_fail():
    assert ens.ensemble_for("sevennet-0") == ()
    assert ens.ensemble_for(str(TINY)) == ()
    assert "not a DeePMD model" in ens.ensemble_note("sevennet-0", ())
    assert "--ensemble" in ens.ensemble_note(str(TINY), ())
    shipped = ens.ensemble_for(None)
    note = ens.ensemble_note(None, shipped)
    assert ("ensemble members" in note) if shipped else ("ships no ensemble" in note)
    assert "\n" not in note


def test_parse_members():
    assert ens.parse_members(None) is None
    assert ens.parse_members(" a.pb, b.pb ,") == ("a.pb", "b.pb")


def test_kernel_is_dpgens_definition():
    rng = np.random.default_rng(1)
    forces = rng.normal(size=(4, 6, 3))
    expected = max(np.sqrt(np.mean(np.sum((forces[:, i] - forces[:, i].mean(axis=0)) ** 2, axis=-1)))
                   for i in range(6))
    assert ens.max_force_deviation(forces) == pytest.approx(expected)
    assert ens.max_force_deviation(np.repeat(forces[:1], 3, axis=0)) == pytest.approx(0.0, abs=1e-12)
    with pytest.raises(ThioglassError):
        ens.max_force_deviation(forces[:1])


def test_kernel_matches_deepmd_model_devi_on_the_same_frames():
    """Our kernel on DeepPot forces equals deepmd.infer.model_devi.calc_model_devi (what ``dp model-devi`` runs)."""
    from ase.io import read
    from deepmd.infer import DeepPot
    from deepmd.infer.model_devi import calc_model_devi

    from thioglass.potential import bundled_model_path

    base = read(str(Path(ens.__file__).parents[1] / "data" / "structures" / "Li3PS4_beta-Pnma_mp-985583-r2SCAN.vasp"))
    frames = []
    for seed in range(3):
        atoms = base.copy()
        atoms.rattle(0.1, seed=seed)
        frames.append(atoms)
    type_map = list(ens.model_type_map(TINY))
    coord = np.array([a.positions.reshape(-1) for a in frames])
    box = np.array([np.asarray(a.cell).reshape(-1) for a in frames])
    atype = np.array([type_map.index(s) for s in frames[0].get_chemical_symbols()])
    models = [DeepPot(str(TINY)), DeepPot(str(bundled_model_path()))]
    theirs = calc_model_devi(coord, box, atype, models)[:, 4]
    forces = np.array([m.eval(coord, box, atype)[1] for m in models])  # (n_models, n_frames, n_atoms, 3)
    ours = ens.max_force_deviation(forces)
    assert ours == pytest.approx(theirs, rel=1e-5)
    assert theirs.min() > 0.05  # two different models: the check compares real numbers, not zeros


def test_stats_and_warning():
    quiet = ens.deviation_stats(np.full(200, 0.05), every_steps=10)
    assert quiet["median_eV_A"] == pytest.approx(0.05) and quiet["share_above_low"] == 0 and not quiet["warning"]
    assert ens.warning_line("quench", quiet) is None
    values = np.concatenate([np.full(97, 0.05), [0.25, 0.3, 0.5]])
    loud = ens.deviation_stats(values)
    assert loud["n_frames"] == 100 and loud["share_above_low"] == pytest.approx(0.03)
    assert loud["share_above_high"] == pytest.approx(0.01) and loud["max_eV_A"] == 0.5
    assert loud["p99_eV_A"] == pytest.approx(np.percentile(values, 99))
    line = ens.warning_line("melt", loud)
    assert "melt" in line and "3.0 %" in line and "\n" not in line
    one_high = ens.deviation_stats(np.concatenate([np.full(999, 0.01), [0.45]]))
    assert one_high["warning"]  # a single frame above the high bound is enough
    with pytest.raises(ThioglassError):
        ens.deviation_stats([])


def test_deviation_file_round_trip_and_trim(tmp_path):
    path = tmp_path / ens.DEVIATION_FILE
    ens.write_deviation_header(path)
    forces = np.random.default_rng(0).normal(size=(3, 5, 3))
    with open(path, "a") as handle:
        for step in (0, 10, 20, 30):
            handle.write(ens.format_deviation_row(ens.deviation_row(step, forces * (1 + step), np.zeros((3, 9)))))
        handle.write("  40 1.0e+00 2.0")  # torn last line of a killed run
    steps, values = ens.read_deviation_table(path)
    assert steps.tolist() == [0, 10, 20, 30]
    assert values[1] == pytest.approx(11 * ens.max_force_deviation(forces), rel=1e-5)
    ens.trim_deviation(path, before_step=20)
    assert ens.read_deviation_table(path)[0].tolist() == [0, 10]
    assert path.read_text().startswith("#")
