"""A PyTorch-trained DeePMD model (.dp) becomes the TensorFlow .pb thioglass runs, and stays the same model.

The source here is the tiny TensorFlow test model serialised to .dp and given what a PyTorch energy model
carries (measured with DeePMD-kit 3.2.0): a per-type ``out_bias`` and an ``out_std`` of about 4, which PyTorch
ignores for energies. The expected values come from the original .pb, not from the code under test:
energy + the sum of out_bias over the atoms, and unchanged forces.
"""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import numpy as np
import pytest

from thioglass.errors import ThioglassError

TINY = Path(__file__).parent / "data" / "tiny_li3ps4.pb"
OUT_BIAS_EV = np.array([-0.5, -1.0, 0.75, 0.25])  # Li, Si, P, S
OUT_STD = 4.0


@pytest.fixture(scope="module")
def pytorch_like(tmp_path_factory) -> Path:
    from deepmd.dpmodel.utils.serialization import load_dp_model, save_dp_model

    folder = tmp_path_factory.mktemp("convert")
    dp = Path(sys.executable).with_name("dp")
    subprocess.run([str(dp), "convert-backend", str(TINY), "tiny.dp"], cwd=folder, check=True,
                   capture_output=True)
    doc = load_dp_model(str(folder / "tiny.dp"))
    variables = doc["model"]["@variables"]
    variables["out_bias"] = OUT_BIAS_EV.reshape(variables["out_bias"].shape)
    variables["out_std"] = np.full_like(variables["out_std"], OUT_STD)
    save_dp_model(str(folder / "pytorch-like.dp"), doc)
    return folder / "pytorch-like.dp"


def _probe():
    from thioglass.mlff.convert import probe_cell

    return probe_cell(["Li", "Si", "P", "S"], seed=11)  # not one of the conversion's own probe seeds


def test_converted_model_is_the_source_model(pytorch_like, tmp_path, cli):
    from thioglass.mlff.evaluate import predict

    out = tmp_path / "model.pb"
    code, err = cli("convert-model", str(pytorch_like), "-o", str(out))
    assert code == 0, err
    atoms = _probe()
    energy, forces, _ = predict(str(out), atoms)
    base_energy, base_forces, _ = predict(str(TINY), atoms)
    types = np.array([["Li", "Si", "P", "S"].index(s) for s in atoms.get_chemical_symbols()])
    assert energy == pytest.approx(base_energy + OUT_BIAS_EV[types].sum(), abs=1e-3 * len(atoms))
    np.testing.assert_allclose(forces, base_forces, atol=1e-4)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["model-convert.log", "model-summary.json", "model.pb"]


def test_a_converted_model_can_seed_tensorflow_training(pytorch_like, tmp_path):
    """``dp --tf train --init-frz-model`` reads the ``model_type`` node, which the deserialised graph lacks
    (measured: plain `dp convert-backend` output is refused); the conversion adds it, once."""
    from thioglass.mlff.convert import to_tensorflow, with_model_type

    out = tmp_path / "model.pb"
    to_tensorflow(pytorch_like, out)
    assert with_model_type(out) is False  # present already
    dp = Path(sys.executable).with_name("dp")
    subprocess.run([str(dp), "convert-backend", str(pytorch_like), "plain.pb"], cwd=tmp_path, check=True,
                   capture_output=True)
    assert with_model_type(tmp_path / "plain.pb") is True
    assert with_model_type(tmp_path / "plain.pb") is False


def test_a_conversion_that_changes_the_model_is_refused(pytorch_like, tmp_path, monkeypatch):
    """Without the out_std fix TensorFlow scales the energies by 4: the probe check must refuse the result."""
    from thioglass.mlff import convert

    monkeypatch.setattr(convert, "without_out_std", lambda doc: doc)
    with pytest.raises(ThioglassError, match="disagrees"):
        convert.to_tensorflow(pytorch_like, tmp_path / "model.pb")
    assert not (tmp_path / "model.pb").exists()
    assert not list(tmp_path.glob(".partial-*"))


def test_bad_sources_get_one_line(tmp_path, cli):
    (tmp_path / "model.pth").write_text("not a model")
    code, err = cli("convert-model", str(tmp_path / "model.pth"), "-o", str(tmp_path / "m.pb"))
    assert code == 2 and "dp convert-backend frozen_model.pth frozen_model.dp" in err
    (tmp_path / "broken.dp").write_bytes(b"\x89HDF\r\n")
    code, err = cli("convert-model", str(tmp_path / "broken.dp"), "-o", str(tmp_path / "m.pb"))
    assert code == 2 and "cannot read" in err and "Traceback" not in err
    code, err = cli("convert-model", str(TINY), "-o", str(tmp_path / "m.txt"))
    assert code == 2 and "Traceback" not in err
