"""The one resolver from a potential name to what runs it.

A potential is named by a string so that it can travel to Dask workers and into job files:

* None: the shipped DeePMD model (:func:`default_model`);
* a DeePMD model file (``*.pb``): LAMMPS with ``pair_style deepmd`` for MD, DeePMD's ASE
  calculator for static work;
* a reference name from :data:`thioglass.reference.calculators.REFERENCES`, ``vasp``, or
  ``ase:package.module:Class``: an ASE calculator (ASE MD).

:func:`potential_kind` says which; :func:`make_calculator` builds the ASE calculator with its
inference threads set (torch or TensorFlow), and :func:`thioglass.md.engine.make_engine` the MD
engine. The reference registry itself stays in :mod:`thioglass.reference.calculators`.
"""

from __future__ import annotations

import importlib
import json
import os
import sys
from importlib.resources import files
from pathlib import Path
from typing import Any

from thioglass.errors import ThioglassError

DEEPMD_SUFFIXES = (".pb",)


def bundled_model_path() -> Path:
    """Where the shipped model lives: ``thioglass/data/models/default.pb`` (its card: ``default.json``)."""
    return Path(str(files("thioglass") / "data" / "models" / "default.pb"))


def default_model() -> Path:
    """The shipped DeePMD model (see :func:`bundled_model_path`)."""
    model = bundled_model_path()
    if not model.is_file():
        raise ThioglassError("no default model is bundled with this thioglass yet; pass --potential "
                             "MODEL.pb (a DeePMD model), a reference name such as sevennet-0, or ase:module:Class")
    return model


def default_model_card() -> dict:
    """Reference, training data and held-out accuracy of the shipped model, from ``default.json``."""
    card = bundled_model_path().with_name("default.json")
    if not card.is_file():
        raise ThioglassError(f"the model card {card} is missing; reinstall thioglass")
    return json.loads(card.read_text())


def force_field_summary(potential: str | None) -> dict:
    """What a report says about the potential: the card's key numbers for the shipped model."""
    if potential is not None:
        return {"potential": potential}
    card = default_model_card()
    test = card["test_set"]
    return {"potential": "default", "name": card["name"], "reference": card["reference"], "date": card["date"],
            "training_frames": card["data"]["frames"], "test_frames": test["frames"],
            "test_rmse_energy_mev_per_atom": test["overall"]["rmse_energy_mev_per_atom"],
            "test_rmse_force_ev_per_angstrom": test["overall"]["rmse_force_ev_per_angstrom"]}


def potential_kind(potential: str | None) -> str:
    """``"deepmd"`` for DeePMD models (and the default), ``"ase"`` for every other potential."""
    if potential is None or potential.endswith(DEEPMD_SUFFIXES):
        return "deepmd"
    check_reference(potential)
    return "ase"


def model_path(potential: str | None) -> str:
    """The DeePMD model file of a ``deepmd`` potential (None: the shipped one)."""
    return str(default_model() if potential is None else potential)


def check_reference(spec: str) -> None:
    """Fail early, with one line, on a potential that is neither a model file nor a calculator."""
    from thioglass.reference.calculators import DFT_REFERENCES, REFERENCES

    names = [*REFERENCES, *DFT_REFERENCES]  # the registry decides which names exist
    if spec in names or spec == "vasp":
        return
    if not spec.startswith("ase:"):
        raise ThioglassError(f"unknown potential '{spec}'; give a DeePMD model file (.pb), a reference name "
                             f"({', '.join(names)}) or ase:package.module:ClassName")
    parts = spec.split(":")
    if len(parts) != 3:
        raise ThioglassError(f"'{spec}' is not of the form ase:package.module:ClassName, "
                             "e.g. ase:ase.calculators.emt:EMT")
    try:
        getattr(importlib.import_module(parts[1]), parts[2])
    except (ImportError, AttributeError) as err:
        raise ThioglassError(f"cannot import {parts[2]} from {parts[1]} ({err}); install it or fix the name") from None


def deepmd_thread_environment(threads: int) -> dict[str, str]:
    """Environment variables that size DeePMD's (TensorFlow's) thread pools."""
    return {"OMP_NUM_THREADS": str(threads), "DP_INTRA_OP_PARALLELISM_THREADS": str(threads),
            "DP_INTER_OP_PARALLELISM_THREADS": "1"}


def make_calculator(potential: str | None, *, threads: int = 2, **options: Any) -> Any:
    """A fresh ASE calculator for ``potential``, its inference limited to ``threads`` threads.

    ``options`` go to the reference's constructor (``vasp`` and ``ase:`` specs, and references
    that take options).
    """
    if potential_kind(potential) == "deepmd":
        # TensorFlow reads these once, when the model loads; an earlier setting in this process wins.
        for key, value in deepmd_thread_environment(threads).items():
            if key != "OMP_NUM_THREADS":
                os.environ.setdefault(key, value)
        from thioglass.native_stderr import filter_native_stderr

        filter_native_stderr()  # before DeePMD's libraries load: their CUDA probe prints on CPU machines
        from deepmd.calculator import DP

        return DP(model=model_path(potential))
    from thioglass.reference.calculators import get_calculator

    calculator = get_calculator(potential, **options)
    set_torch_threads(threads)
    return calculator


def set_torch_threads(threads: int) -> None:
    """Limit torch's intra-op threads, when a torch-based calculator has loaded torch."""
    if "torch" in sys.modules:
        sys.modules["torch"].set_num_threads(threads)
