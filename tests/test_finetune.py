"""Fine-tuning a trained model on new labels: `thioglass train --init-model` (issue 12)."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest
from typer.testing import CliRunner

from thioglass.cli.main import app
from thioglass.errors import ThioglassError

runner = CliRunner()
TINY = str(Path(__file__).parent / "data" / "tiny_li3ps4.pb")
LJ = "ase:ase.calculators.lj:LennardJones"


def _frames():
    from thioglass.build.crystals import load_crystal

    frames = []
    for k, name in enumerate(("beta-Li3PS4", "Li2S", "SiS2", "P2S5", "Li4P2S6", "Li7PS6")):
        atoms = load_crystal(name)
        atoms.rattle(0.03, seed=k)
        frames.append(atoms)
    return frames


def test_energy_shift_recovers_a_per_element_offset():
    """Labels on another energy zero (known offsets per element) are mapped back onto the base's."""
    from thioglass.mlff.evaluate import predict
    from thioglass.mlff.finetune import energy_shift_ev, shifted
    from thioglass.reference.label import Label

    offsets = {"Li": -190.0, "Si": 3.5, "P": -7.25, "S": 12.0}
    frames = []
    for atoms in _frames():
        energy, forces, virial = predict(TINY, atoms)
        moved = energy + sum(offsets[s] for s in atoms.get_chemical_symbols())
        frames.append((atoms, Label(moved, forces, virial)))
    shift = energy_shift_ev(frames, TINY, ("Li", "Si", "P", "S"))
    assert shift == pytest.approx(offsets, abs=1e-3)
    for (atoms, label), (_, back) in zip(frames, shifted(frames, shift)):
        assert back.energy_ev == pytest.approx(predict(TINY, atoms)[0], abs=1e-2)
        assert np.array_equal(back.forces_ev_per_angstrom, label.forces_ev_per_angstrom)


def test_base_settings_are_the_base_models_net():
    from thioglass.mlff.finetune import base_settings, finetune_schedule

    settings = base_settings(TINY, finetune_schedule(10), seed=3)
    assert settings.sel == (16, 4, 8, 20) and settings.architecture.embedding_neurons == (8, 16, 32)
    assert settings.architecture.rcut_angstrom == 5.0 and settings.schedule.start_lr == 1e-4
    with pytest.raises(ThioglassError, match="positive --start-lr"):
        finetune_schedule(10, 0.0)


def test_finetune_starts_from_the_base_weights(tmp_path):
    """With a vanishing learning rate the fine-tuned model is the base: its weights were loaded, and its
    energies keep the base's zero although the LJ labels have another one."""
    from ase.io import write

    from thioglass.mlff.evaluate import predict

    cells = tmp_path / "cells.extxyz"
    write(cells, _frames())
    store = tmp_path / "labels"
    assert runner.invoke(app, ["label", str(cells), "--store", str(store), "--reference", LJ]).exit_code == 0
    out = tmp_path / "tuned"
    result = runner.invoke(app, ["train", "--labels", str(store), "-o", str(out), "--init-model", TINY,
                                 "--steps", "2", "--start-lr", "1e-12", "--no-compress", "--validation", "0",
                                 "--threads", "1"], env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output
    assert "fine-tuning 1 model(s) from" in result.output and "eV per atom" in result.output
    doc = json.loads((out / "model_0" / "input.json").read_text())
    assert doc["model"]["descriptor"]["sel"] == [16, 4, 8, 20]
    assert set(json.loads((out / "energy-shift.json").read_text())["shift_eV_per_atom"]) == {"Li", "Si", "P", "S"}
    tuned = json.loads((out / "models.json").read_text())[0]["frozen_model"]
    for atoms in _frames()[:3]:
        e_base, f_base, _ = predict(TINY, atoms)
        e_tuned, f_tuned, _ = predict(tuned, atoms)
        assert e_tuned == pytest.approx(e_base, abs=1e-3 * len(atoms))
        assert np.abs(f_tuned - f_base).max() < 1e-3


@pytest.mark.parametrize("extra, message", [
    (["--architecture", "fast"], "inherits its base's net"),
    (["--models", "2", "--init-model", f"{TINY},{TINY},{TINY}"], "gives 3 models for --models 2"),
    (["--init-model", "missing.pb"], "does not exist"),
])
def test_finetune_mistakes_are_one_line(tmp_path, extra, message, cli):
    store = tmp_path / "labels"
    store.mkdir()
    code, err = cli("train", "--labels", str(store), "-o", str(tmp_path / "out"), "--init-model", TINY, *extra)
    assert code == 2 and err.startswith("Error:") and "\n" not in err and message in err, err
