"""Fine-tune a trained DeePMD model on new labels (``thioglass train --init-model base.pb``).

The paper's model learned from PBEsol DFT; thioglass's learns from a universal potential, which is cheap
enough to label thousands of frames. Fine-tuning carries a model trained on the many cheap labels over
to a few expensive ones (issue 12: PBEsol frames from GPAW):

* **The base's structure.** The new training inherits the base model's net, cutoff, ``sel`` and type map,
  read from the training script that ``dp freeze`` stores in every frozen model, so the weights can be
  loaded (``--init-frz-model``); a ``se_e2_a`` model is required.
* **The energy zero.** Two electronic-structure codes (or a code and a universal potential) put the
  energy zero of each element in different places: GPAW's PAW energies and SevenNet's differ by tens of
  eV per atom. Left alone, the first steps would spend the fitting net on that constant. The labels are
  shifted per element by the least-squares fit of ``E_label - E_base`` on the element counts (the
  same correction as DeePMD's ``change-bias``), and the shift is recorded: energy differences between
  frames of one composition are unchanged by it.
* **A gentle schedule.** A small starting learning rate and DP-GEN's reuse prefactors (energy 0.1,
  force 100), so the base is adjusted, not retrained from noise.
"""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Iterable, Sequence

import numpy as np
from ase import Atoms

from thioglass.errors import ThioglassError
from thioglass.mlff.config import Architecture, Schedule, TrainSettings

#: DP-GEN's training-reuse defaults (``training_reuse_start_lr``, ``..._start_pref_e``, ``..._start_pref_f``).
FINETUNE_START_LR = 1e-4
FINETUNE_START_PREF_E = 0.1
FINETUNE_START_PREF_F = 100.0


def base_training_script(path: str | Path) -> dict:
    """The ``input.json`` a frozen DeePMD model was trained with (stored by ``dp freeze``)."""
    from thioglass.mlff.ensemble import graph_string

    text = graph_string(path, "train_attr/training_script")
    if not text:
        raise ThioglassError(f"{path} holds no training script (train_attr/training_script); fine-tune from the "
                             "frozen model that `dp freeze` or `thioglass train` wrote")
    return json.loads(text)


def base_settings(path: str | Path, schedule: Schedule, seed: int) -> TrainSettings:
    """Training settings with the base model's descriptor and fitting net, so its weights fit."""
    model = base_training_script(path)["model"]
    descriptor, fitting = model["descriptor"], model["fitting_net"]
    if descriptor.get("type") != "se_e2_a":
        raise ThioglassError(f"{path} uses the {descriptor.get('type')} descriptor; thioglass fine-tunes se_e2_a "
                             "models (its own architectures)")
    arch = Architecture(rcut_angstrom=float(descriptor["rcut"]), rcut_smth_angstrom=float(descriptor["rcut_smth"]),
                        embedding_neurons=tuple(descriptor["neuron"]), axis_neuron=int(descriptor["axis_neuron"]),
                        fitting_neurons=tuple(fitting["neuron"]), resnet_dt=bool(fitting.get("resnet_dt", True)),
                        precision=str(descriptor.get("precision", "float64")))
    return TrainSettings(architecture=arch, schedule=schedule, seed=seed, type_map=tuple(model["type_map"]),
                         sel=tuple(int(s) for s in descriptor["sel"]))


def finetune_schedule(steps: int, start_lr: float = FINETUNE_START_LR) -> Schedule:
    """A short schedule that starts where a trained model is: small learning rate, reuse prefactors."""
    if steps < 1 or start_lr <= 0:
        raise ThioglassError("a fine-tune needs --steps of at least 1 and a positive --start-lr")
    return Schedule.sized(steps, start_lr=start_lr, stop_lr=min(start_lr, 1e-6) / 10,
                          start_pref_e=FINETUNE_START_PREF_E, start_pref_f=FINETUNE_START_PREF_F)


def energy_shift_ev(frames: Sequence[tuple[Atoms, object]], base: str | Path,
                    type_map: Sequence[str]) -> dict[str, float]:
    """Per-element shift (eV per atom of each element) that best maps the labels' energy zero onto the base's.

    Least squares of ``E_label - E_base`` over the frames against their element counts; an element no
    frame holds gets 0. Subtracting ``sum_i n_i shift_i`` from each label puts it on the base's zero.
    """
    from thioglass.mlff.evaluate import predict

    if not frames:
        raise ThioglassError("no labelled frames to fine-tune on; label some structures first")
    predicted = [predict(str(base), atoms) for atoms, _ in frames]
    counts = np.array([[atoms.get_chemical_symbols().count(e) for e in type_map] for atoms, _ in frames], float)
    residual = np.array([label.energy_ev - energy for (_, label), (energy, *_rest) in zip(frames, predicted)])
    present = counts.sum(axis=0) > 0
    solution, *_ = np.linalg.lstsq(counts[:, present], residual, rcond=None)
    shift = np.zeros(len(type_map))
    shift[present] = solution
    return {element: float(value) for element, value in zip(type_map, shift)}


def shifted(frames: Iterable[tuple[Atoms, object]], shift_ev: dict[str, float]) -> list[tuple[Atoms, object]]:
    """The frames with each label's energy moved by ``-sum_i n_i shift_i`` (forces and virial unchanged)."""
    out = []
    for atoms, label in frames:
        offset = sum(shift_ev.get(symbol, 0.0) for symbol in atoms.get_chemical_symbols())
        out.append((atoms, replace(label, energy_ev=label.energy_ev - offset)))
    return out


def prepare_finetune(base: str | Path, frames: Sequence[tuple[Atoms, object]], *, steps: int,
                     start_lr: float | None, seed: int) -> tuple[TrainSettings, dict[str, float]]:
    """The settings of a fine-tune from ``base`` (its net, a gentle schedule) and the labels' energy shift."""
    settings = base_settings(base, finetune_schedule(steps, start_lr or FINETUNE_START_LR), seed)
    return settings, energy_shift_ev(frames, base, settings.type_map)
