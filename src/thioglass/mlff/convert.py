"""Bring a model trained with DeePMD-kit's PyTorch backend into thioglass (a frozen TensorFlow ``.pb``).

Why: a GPU machine often has PyTorch but no TensorFlow, and DeePMD-kit trains there with ``dp --pt``.
thioglass's MD (LAMMPS, ASE) reads TensorFlow graphs, so a PyTorch model is frozen and serialised
(``dp --pt freeze``, then ``dp convert-backend model.pth model.dp``: both need only PyTorch) and turned into a
``.pb`` here, where TensorFlow is.

The trap this module exists for (measured with DeePMD-kit 3.2.0): a PyTorch energy model stores an
``out_std`` (about 4 for these labels) that PyTorch and the NumPy backend ignore for energies, but the
TensorFlow deserialiser multiplies the fitting net's output by it (deepmd-kit issue 4961: TensorFlow has no
``out_std``). The plain ``dp convert-backend model.pth model.pb`` therefore gives a different model: tens of
eV per cell and tenths of eV/Å off. The conversion here sets ``out_std`` to 1 for energy models, then checks
the ``.pb`` against the source on a probe cell with every element, so a wrong conversion cannot pass silently.

A second gap: the deserialised graph lacks the ``model_type`` node that TensorFlow training reads from a
frozen model, so ``dp --tf train --init-frz-model`` refuses it. The conversion adds the node (value
``original_model``, as ``dp freeze`` writes it); with it a converted model seeds a training exactly as the
model it came from does (same learning curve at step 0), which is how members trained on a GPU machine join
the learning loop (:mod:`thioglass.learn.adopt`).
"""

from __future__ import annotations

import os
import sys
from pathlib import Path

import numpy as np

from thioglass.errors import ThioglassError

#: Largest energy disagreement allowed between the source and the converted model on a probe cell: float32
#: nets round at about 1e-6 relative, so the limit sits well above rounding and far below any real error.
#: Energies only: the NumPy backend that reads a .dp file has no forces (no automatic differentiation), and
#: energies that agree on several different cells mean the same function, whose forces TensorFlow derives.
PROBE_ENERGY_TOLERANCE_EV_PER_ATOM = 1e-4
PROBE_SEEDS = (7, 8, 9)


def load_serialised(path: str | Path) -> dict:
    """The backend-independent model dict of a ``.dp`` file (``dp convert-backend model.pth model.dp``)."""
    path = Path(path)
    if path.suffix != ".dp" or not path.is_file():
        raise ThioglassError(f"{path} is not a .dp file; on the machine that trained it run "
                             "`dp convert-backend frozen_model.pth frozen_model.dp` and bring the .dp here")
    from deepmd.dpmodel.utils.serialization import load_dp_model

    try:
        return load_dp_model(str(path))
    except Exception as err:  # noqa: BLE001 - h5py raises many types for a broken file
        raise ThioglassError(f"cannot read {path} ({type(err).__name__}); is the copy complete?") from None


def without_out_std(doc: dict) -> dict:
    """The model dict with the energy output's ``out_std`` set to 1 (see the module docstring)."""
    model = doc.get("model", {})
    if model.get("type", "standard") != "standard" or model.get("fitting", {}).get("type") != "ener":
        raise ThioglassError("only DeePMD energy models (a descriptor with an 'ener' fitting) can be converted")
    variables = model.get("@variables", {})
    if "out_std" in variables:
        variables["out_std"] = np.ones_like(variables["out_std"])
    return doc


def probe_cell(type_map: list[str], seed: int = 7):
    """A 12-atom periodic cell holding every element of ``type_map``, atoms at least 1.9 Å apart."""
    from ase import Atoms

    rng = np.random.default_rng(seed)
    lengths = np.array([6.5, 6.2, 6.8])
    symbols = [type_map[i % len(type_map)] for i in range(12)]
    positions: list[np.ndarray] = []
    while len(positions) < len(symbols):
        trial = rng.uniform(0.0, 1.0, 3) * lengths
        gaps = [(trial - p) - np.round((trial - p) / lengths) * lengths for p in positions]  # minimum image
        if all(np.linalg.norm(gap) > 1.9 for gap in gaps):
            positions.append(trial)
    return Atoms(symbols, positions=np.array(positions), cell=np.diag(lengths), pbc=True)


def probe_energies_ev(model_path: str | Path, type_map: list[str]) -> np.ndarray:
    """The model's energy (eV) of each :func:`probe_cell` of :data:`PROBE_SEEDS`."""
    from deepmd.infer import DeepPot

    model = DeepPot(str(model_path))
    energies = []
    for seed in PROBE_SEEDS:
        atoms = probe_cell(type_map, seed)
        types = np.array([model.get_type_map().index(s) for s in atoms.get_chemical_symbols()])
        energy = model.eval(atoms.positions.reshape(1, -1), np.asarray(atoms.cell).reshape(1, 9), types)[0]
        energies.append(float(np.ravel(energy)[0]))
    return np.array(energies)


def check_same_model(source: str | Path, converted: str | Path, type_map: list[str]) -> float:
    """The largest energy difference (eV/atom) of two model files on the probe cells; raises above the
    tolerance."""
    n_atoms = len(probe_cell(type_map))
    diff = float(np.abs(probe_energies_ev(source, type_map) - probe_energies_ev(converted, type_map)).max()) / n_atoms
    if not diff <= PROBE_ENERGY_TOLERANCE_EV_PER_ATOM:
        raise ThioglassError(
            f"the converted model {converted} disagrees with {source} on the probe cells by {diff:.2e} eV/atom; "
            "this DeePMD-kit version converts differently: report it with both files")
    return diff


def to_tensorflow(source: str | Path, out: str | Path, *, threads: int | None = 1) -> float:
    """Write the frozen TensorFlow model ``out`` (.pb) of the serialised model ``source`` (.dp).

    The ``.pb`` appears only once it has matched the source on the probe cell (written beside ``out``, then
    renamed), so a failed or killed conversion never leaves a model that looks finished. Returns the largest
    probe energy difference (eV/atom).
    """
    from deepmd.dpmodel.utils.serialization import save_dp_model

    from thioglass.md.process import run_process

    out = Path(out)
    if out.suffix != ".pb":
        raise ThioglassError(f"{out}: the converted model must be a .pb file")
    doc = without_out_std(load_serialised(source))
    out.parent.mkdir(parents=True, exist_ok=True)
    fixed, partial = out.with_name(f".partial-{out.stem}.dp"), out.with_name(f".partial-{out.name}")
    save_dp_model(str(fixed), doc)
    env = dict(os.environ, TF_CPP_MIN_LOG_LEVEL="2")
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), DP_INTRA_OP_PARALLELISM_THREADS=str(threads))
    log = out.with_name(f"{out.stem}-convert.log")
    dp = Path(sys.executable).with_name("dp")
    try:
        code = run_process([str(dp), "convert-backend", fixed.name, partial.name], cwd=out.parent, env=env,
                           log_path=log)
        if code != 0 or not partial.is_file():
            raise ThioglassError(f"dp convert-backend failed for {source} (exit {code}); see {log}")
        diff = check_same_model(fixed, partial, list(doc["model"]["type_map"]))
        with_model_type(partial)
        os.replace(partial, out)
    finally:
        fixed.unlink(missing_ok=True)
        partial.unlink(missing_ok=True)
    return diff


def _graph_def(path: str | Path):
    from thioglass.native_stderr import filter_native_stderr

    filter_native_stderr()
    import tensorflow as tf

    graph = tf.compat.v1.GraphDef()
    try:
        graph.ParseFromString(Path(path).read_bytes())
    except Exception as err:  # noqa: BLE001 - protobuf's DecodeError and friends
        raise ThioglassError(f"cannot read {path} as a frozen DeePMD model ({type(err).__name__}); is the copy "
                             "complete?") from None
    return graph


def with_model_type(path: str | Path) -> bool:
    """Give the frozen model ``path`` the ``model_type`` node TensorFlow training needs to start from it
    (``--init-frz-model``), in place; False when it had one already (every ``dp freeze`` output does)."""
    graph = _graph_def(path)
    if any(node.name == "model_type" for node in graph.node):
        return False
    node = graph.node.add()
    node.name, node.op = "model_type", "Const"
    node.attr["dtype"].type = 7  # DT_STRING
    tensor = node.attr["value"].tensor
    tensor.dtype = 7
    tensor.string_val.append(b"original_model")
    Path(path).write_bytes(graph.SerializeToString())
    return True


def model_definition(path: str | Path) -> dict:
    """The ``model`` section a DeePMD model was trained with (type map, descriptor, fitting net), read from a
    frozen ``.pb`` (``train_attr/training_script``) or a serialised ``.dp`` (``model_def_script``)."""
    import json

    path = Path(path)
    if path.suffix == ".dp":
        return dict(load_serialised(path).get("model_def_script") or {})
    if path.suffix != ".pb" or not path.is_file():
        raise ThioglassError(f"{path} is not a model file; give a frozen .pb or a serialised .dp")
    for node in _graph_def(path).node:
        if node.name == "train_attr/training_script":
            return dict(json.loads(node.attr["value"].tensor.string_val[0].decode()).get("model", {}))
    return {}
