"""The shipped Li-Si-P-S model: its card tells the truth, and it behaves like a force field."""

from __future__ import annotations

import json

import numpy as np
import pytest
from ase.io import read

from thioglass.build.crystals import load_crystal
from thioglass.potential import bundled_model_path, default_model
from thioglass.mlff.dataset import read_labelled
from thioglass.mlff.evaluate import load_model, parity, parity_by, predict

MODELS = bundled_model_path().parent
CARD = json.loads((MODELS / "default.json").read_text())
TEST_SET = MODELS / CARD["test_set"]["file"]


def test_the_default_model_is_bundled_for_every_element():
    model = load_model(str(default_model()))
    assert model.get_type_map() == ["Li", "Si", "P", "S"]
    assert model.get_rcut() == pytest.approx(CARD["training"]["architecture"]["descriptor"]["rcut"])


def test_the_card_reports_the_held_out_set_as_it_is():
    """Recomputing the card's per-family errors from the shipped test set gives the card's numbers."""
    groups = parity_by(str(default_model()), read_labelled(TEST_SET), "family")
    assert set(groups) == set(CARD["test_set"]["by_family"])
    for name, part in groups.items():
        stated = CARD["test_set"]["by_family"][name]
        measured = part.metrics()
        assert measured["frames"] == stated["frames"]
        for key in ("rmse_energy_mev_per_atom", "rmse_force_ev_per_angstrom"):
            assert measured[key] == pytest.approx(stated[key], rel=0.02, abs=1e-3)


def test_the_test_set_covers_glasses_and_crystals_of_every_family():
    frames = read(TEST_SET, ":")
    systems = {atoms.info["system"] for atoms in frames}
    assert {s.split()[0] for s in systems} == {"glass", "crystal"}
    for family in ("Li2S-P2S5", "Li2S-SiS2", "Li2S-SiS2-P2S5"):
        kinds = {atoms.info["system"].split()[0] for atoms in frames if atoms.info["family"] == family}
        assert kinds == {"glass", "crystal"}, family
    assert all(atoms.info["reference"] == CARD["reference"] for atoms in frames)


def test_forces_are_minus_the_energy_gradient():
    atoms = load_crystal("Li10SiP2S12")
    atoms.rattle(0.05, seed=3)
    _, forces, _ = predict(str(default_model()), atoms)
    rng = np.random.default_rng(0)
    step = 2e-3
    for index in rng.choice(len(atoms), 4, replace=False):
        for axis in range(3):
            plus, minus = atoms.copy(), atoms.copy()
            plus.positions[index, axis] += step
            minus.positions[index, axis] -= step
            numeric = -(predict(str(default_model()), plus)[0] - predict(str(default_model()), minus)[0]) / (2 * step)
            assert numeric == pytest.approx(forces[index, axis], abs=0.02 + 0.02 * abs(forces[index, axis]))


def test_a_relaxed_crystal_feels_small_forces_and_a_rattled_one_large():
    """The reference's equilibrium is near the model's: rattling by 0.1 Å raises forces by an order of magnitude."""
    atoms = load_crystal("beta-Li3PS4")
    calm = np.abs(predict(str(default_model()), atoms)[1]).max()
    atoms.rattle(0.1, seed=1)
    shaken = np.abs(predict(str(default_model()), atoms)[1]).max()
    assert calm < 0.5 and shaken > 3 * calm


def test_frames_without_the_tag_are_grouped_as_untagged():
    frames = list(read_labelled(TEST_SET))[:3]
    for atoms, _ in frames:
        atoms.info.pop("family", None)
    groups = parity_by(str(default_model()), frames, "family")
    assert list(groups) == ["untagged"]
    together, direct = groups["untagged"].metrics(), parity(str(default_model()), frames).metrics()
    assert together.keys() == direct.keys()
    assert all(together[k] == pytest.approx(direct[k], rel=1e-4) for k in direct)


def test_reports_quote_the_card_for_the_default_model_only():
    from thioglass.potential import force_field_summary

    summary = force_field_summary(None)
    assert summary["reference"] == CARD["reference"] and summary["test_frames"] == CARD["test_set"]["frames"]
    assert summary["test_rmse_force_ev_per_angstrom"] == CARD["test_set"]["overall"]["rmse_force_ev_per_angstrom"]
    assert force_field_summary("my.pb") == {"potential": "my.pb"}
