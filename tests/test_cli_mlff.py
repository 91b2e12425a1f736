"""The force-field commands as a user runs them: label -> train -> test-model, learn --example, reference."""

from __future__ import annotations

import json

import yaml
from typer.testing import CliRunner

from thioglass.cli.main import app
from thioglass.learn.config import load_config

runner = CliRunner()
LJ = "ase:ase.calculators.lj:LennardJones"


def _invoke(*args: str):
    result = runner.invoke(app, list(args), env={"COLUMNS": "200"})
    assert result.exit_code == 0, result.output + repr(result.exception)
    return result


def test_label_train_and_test_a_model(tmp_path):
    cells = tmp_path / "cells.extxyz"
    _invoke("crystal", "beta-Li3PS4", "-o", str(tmp_path / "c.extxyz"))
    from ase.io import read, write

    base = read(tmp_path / "c.extxyz")
    frames = []
    for k in range(6):
        atoms = base.copy()
        atoms.rattle(0.05, seed=k)
        frames.append(atoms)
    write(cells, frames)
    store = tmp_path / "labels"
    first = _invoke("label", str(cells), "--store", str(store), "--reference", LJ)
    assert "labelled 6" in first.output
    again = _invoke("label", str(cells), "--store", str(store), "--reference", LJ)
    assert "labelled 0, already done 6" in again.output

    models = tmp_path / "models"
    _invoke("train", "--labels", str(store), "-o", str(models), "--architecture", "fast", "--steps", "20",
            "--models", "2", "--no-compress", "--validation", "0.3")
    records = json.loads((models / "models.json").read_text())
    assert len(records) == 2 and all(r["steps"] == 20 for r in records)

    out = tmp_path / "acc.json"
    _invoke("test-model", "--model", records[0]["frozen_model"], "--data", str(store), "--json", str(out),
            "--plots", str(tmp_path / "plots"))
    metrics = json.loads(out.read_text())
    assert metrics["frames"] == 6 and metrics["rmse_force_ev_per_angstrom"] >= 0
    assert {"rmse_energy_mev_per_atom", "rmse_virial_mev_per_atom"} <= set(metrics)
    assert (tmp_path / "plots" / "parity.png").stat().st_size > 0


def test_missing_model_is_one_line(tmp_path):
    result = runner.invoke(app, ["test-model", "--model", str(tmp_path / "none.pb"), "--data", str(tmp_path),
                                 "--json", str(tmp_path / "x.json")])
    assert result.exit_code != 0 and "does not exist" in str(result.exception)


def test_learn_example_is_a_valid_config(tmp_path):
    text = _invoke("learn", "--example").output
    path = tmp_path / "learn.yml"
    path.write_text(text)
    config = load_config(path)
    assert config.selection.sigma_low == 0.2 and config.selection.sigma_high == 0.4
    assert config.training.models == 4 and yaml.safe_load(text)["reference"] == config.reference


def test_reference_list_names_the_default():
    output = _invoke("reference", "list").output
    assert "sevennet-l3i5 (default)" in output and "chgnet-r2scan" in output


def test_test_model_reports_each_family(tmp_path):
    """Labels equal to the model's own predictions give zero error; a 0.1 eV/Å force shift gives exactly 0.1."""
    from pathlib import Path

    import numpy as np
    from ase.calculators.singlepoint import SinglePointCalculator
    from ase.io import write

    from thioglass.build.crystals import load_crystal
    from thioglass.mlff.evaluate import predict

    model = str(Path(__file__).parent / "data" / "tiny_li3ps4.pb")
    frames = []
    for k, family in enumerate(["exact", "exact", "shifted", "shifted", "shifted"]):
        atoms = load_crystal("beta-Li3PS4")
        atoms.rattle(0.03, seed=k)
        energy, forces, virial = predict(model, atoms)
        shift = 0.1 if family == "shifted" else 0.0
        stress = -virial / atoms.get_volume()
        atoms.calc = SinglePointCalculator(atoms, energy=energy, forces=forces + shift,
                                           stress=stress[[0, 1, 2, 1, 0, 0], [0, 1, 2, 2, 2, 1]])
        atoms.info["family"] = family
        frames.append(atoms)
    write(tmp_path / "test.extxyz", frames)
    out = tmp_path / "acc.json"
    shown = _invoke("test-model", "--model", model, "--data", str(tmp_path / "test.extxyz"), "--json", str(out),
                    "--group-by", "family")
    record = json.loads(out.read_text())
    exact, shifted = record["by_family"]["exact"], record["by_family"]["shifted"]
    assert (exact["frames"], shifted["frames"], record["frames"]) == (2, 3, 5)
    assert exact["rmse_force_ev_per_angstrom"] < 1e-4 and exact["rmse_energy_mev_per_atom"] < 1e-3
    assert np.isclose(shifted["rmse_force_ev_per_angstrom"], 0.1, atol=1e-4)
    assert np.isclose(record["rmse_force_ev_per_angstrom"], 0.1 * np.sqrt(3 / 5), atol=1e-4)
    assert "family shifted: 3 frames" in shown.output
