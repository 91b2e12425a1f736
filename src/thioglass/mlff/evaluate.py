"""Evaluate DeePMD models: predictions on ASE frames, RMSE against labels, ensemble deviation."""

from __future__ import annotations

from dataclasses import dataclass
from functools import lru_cache
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from ase import Atoms

from thioglass.errors import ThioglassError


@lru_cache(maxsize=16)
def load_model(path: str):
    """A ``deepmd.infer.DeepPot`` for a frozen model file, loaded once per process."""
    if not Path(path).is_file():
        raise ThioglassError(f"model file {path} does not exist; train one or pass --model with a .pb file")
    from thioglass.native_stderr import filter_native_stderr

    filter_native_stderr()  # before DeePMD's libraries load: their CUDA probe prints on CPU machines
    from deepmd.infer import DeepPot

    try:
        return DeepPot(path)
    except Exception as err:  # noqa: BLE001 - TF raises many types for a bad graph
        raise ThioglassError(f"cannot load model {path} ({type(err).__name__}); is it a frozen DeePMD .pb file?") from None


def _types(model, atoms: Atoms) -> np.ndarray:
    type_map = model.get_type_map()
    missing = sorted(set(atoms.get_chemical_symbols()) - set(type_map))
    if missing:
        raise ThioglassError(f"the model knows {type_map} but the cell has {missing}; use a model trained on these elements")
    return np.array([type_map.index(s) for s in atoms.get_chemical_symbols()])


def predict(model_path: str, atoms: Atoms) -> tuple[float, np.ndarray, np.ndarray]:
    """Energy (eV), forces (eV/Å, N x 3) and virial (eV, 3 x 3) of one periodic frame."""
    model = load_model(str(model_path))
    energy, forces, virial = model.eval(atoms.positions.reshape(1, -1), np.asarray(atoms.cell).reshape(1, 9),
                                        _types(model, atoms))
    return float(energy.ravel()[0]), forces.reshape(-1, 3), virial.reshape(3, 3)


def max_force_deviation(model_paths: Sequence[str], atoms: Atoms) -> float:
    """DP-GEN's sigma_f_max: the largest over atoms of the ensemble's force standard deviation,
    sigma_i = sqrt(< |F_i - <F_i>|^2 >) over models (eV/Å)."""
    if len(model_paths) < 2:
        raise ThioglassError("model deviation needs an ensemble of at least two models")
    from thioglass.mlff.ensemble import max_force_deviation as kernel  # the one kernel LAMMPS' rows match

    return float(kernel(np.stack([predict(m, atoms)[1] for m in model_paths])))


@dataclass
class ParityData:
    """Reference and predicted values collected frame by frame, for RMSEs and parity plots."""

    energy_ref: list[float]
    energy_pred: list[float]
    force_ref: list[np.ndarray]
    force_pred: list[np.ndarray]
    virial_ref: list[np.ndarray]
    virial_pred: list[np.ndarray]

    @classmethod
    def merged(cls, parts: Iterable["ParityData"]) -> "ParityData":
        """All frames of several parity sets in one."""
        merged = cls([], [], [], [], [], [])
        for part in parts:
            for name in ("energy_ref", "energy_pred", "force_ref", "force_pred", "virial_ref", "virial_pred"):
                getattr(merged, name).extend(getattr(part, name))
        return merged

    def metrics(self) -> dict[str, float | int]:
        e_ref, e_pred = np.array(self.energy_ref), np.array(self.energy_pred)
        f_ref, f_pred = np.concatenate(self.force_ref), np.concatenate(self.force_pred)
        out: dict[str, float | int] = {
            "frames": len(e_ref),
            "rmse_energy_mev_per_atom": float(np.sqrt(np.mean((e_pred - e_ref) ** 2)) * 1000),
            "rmse_force_ev_per_angstrom": float(np.sqrt(np.mean((f_pred - f_ref) ** 2))),
            "mae_force_ev_per_angstrom": float(np.mean(np.abs(f_pred - f_ref))),
        }
        if self.virial_ref:
            v_ref, v_pred = np.array(self.virial_ref), np.array(self.virial_pred)
            out["rmse_virial_mev_per_atom"] = float(np.sqrt(np.mean((v_pred - v_ref) ** 2)) * 1000)
        return out


def parity_by(model_path: str, frames: Iterable[tuple[Atoms, "object"]], key: str) -> dict[str, ParityData]:
    """:func:`parity` per value of ``atoms.info[key]`` (frames without the key go to ``"untagged"``)."""
    groups: dict[str, list] = {}
    for atoms, label in frames:
        groups.setdefault(str(atoms.info.get(key, "untagged")), []).append((atoms, label))
    if not groups:
        raise ThioglassError("no labelled frames to test against")
    return {name: parity(model_path, members) for name, members in sorted(groups.items())}


def parity(model_path: str, frames: Iterable[tuple[Atoms, "object"]]) -> ParityData:
    """Compare a model with labelled frames ``(atoms, Label)``; energies and virials per atom."""
    data = ParityData([], [], [], [], [], [])
    for atoms, label in frames:
        energy, forces, virial = predict(model_path, atoms)
        n = len(atoms)
        data.energy_ref.append(label.energy_ev / n)
        data.energy_pred.append(energy / n)
        data.force_ref.append(np.asarray(label.forces_ev_per_angstrom).reshape(-1, 3))
        data.force_pred.append(forces)
        if label.virial_ev is not None:
            data.virial_ref.append(np.asarray(label.virial_ev).ravel() / n)
            data.virial_pred.append(virial.ravel() / n)
    if not data.energy_ref:
        raise ThioglassError("no labelled frames to test against")
    return data
