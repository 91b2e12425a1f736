"""Train, freeze and compress DeePMD models (TensorFlow backend), resumably.

``dp --tf train`` runs as a subprocess in its own folder: a killed training leaves its last
checkpoint (every ``save_freq`` steps) and rerunning :func:`train_model` restarts from it; a finished
model is never retrained.
"""

from __future__ import annotations

import json
import os
import sys
from dataclasses import dataclass
from pathlib import Path
from typing import Sequence

import numpy as np

from thioglass.errors import ThioglassError
from thioglass.io.atomic import write_json
from thioglass.mlff.config import TrainSettings, deepmd_input

FROZEN = "frozen_model.pb"
COMPRESSED = "compressed_model.pb"


@dataclass(frozen=True)
class TrainResult:
    """Where a trained model is and how far its training got."""

    workdir: str
    frozen_model: str
    compressed_model: str | None
    steps: int
    final_rmse: dict[str, float]


def neighbour_sel(systems: Sequence[str], rcut_angstrom: float, type_map: Sequence[str],
                  margin: float = 1.2) -> tuple[int, ...]:
    """``sel`` for se_e2_a: the largest number of neighbours of each type within ``rcut`` in any frame of the
    data, times ``margin``, rounded up to a multiple of 4 (the way DeePMD pads).

    Every frame counts: DeePMD keeps only the ``sel`` nearest neighbours of each type, so a compressed or hot
    frame denser than ``sel`` allows is fitted, and run, with atoms cut out of its environments. (Sampling a
    few frames per system missed exactly those: the stage-3 loop's compressed Li2S frames hold 50 Li
    neighbours within 5.5 Å against the sel of 44 its sample gave.) About 10 ms per 150-atom frame.
    """
    import dpdata
    from thioglass.analysis.neighbors import vesin  # patched: no per-frame memory growth

    largest = np.zeros(len(type_map), dtype=int)
    for folder in systems:
        system = dpdata.System(folder, fmt="deepmd/npy", type_map=list(type_map))
        types = system["atom_types"]
        for f in range(system.get_nframes()):
            i, j = vesin.NeighborList(cutoff=rcut_angstrom, full_list=True).compute(
                system["coords"][f], system["cells"][f], True, "ij")
            counts = np.zeros((len(types), len(type_map)), dtype=int)
            np.add.at(counts, (i, types[j]), 1)
            largest = np.maximum(largest, counts.max(axis=0))
    sel = np.ceil(np.maximum(largest, 1) * margin / 4).astype(int) * 4
    return tuple(int(s) for s in sel)


def read_lcurve(path: str | Path) -> dict[int, dict[str, float]]:
    """Rows of ``lcurve.out`` by step; after a restart the later row of a repeated step wins."""
    path = Path(path)
    if not path.exists():
        return {}
    lines = path.read_text().splitlines()
    header = next((line[1:].split() for line in lines if line.startswith("# step")), None)
    rows: dict[int, dict[str, float]] = {}
    for line in lines:
        if line.startswith("#") or not line.strip():
            continue
        values = line.split()
        if header and len(values) == len(header):
            rows[int(float(values[0]))] = {k: float(v) for k, v in zip(header[1:], values[1:])}
    return rows


def _dp(args: list[str], workdir: Path, log_name: str, threads: int | None) -> None:
    env = dict(os.environ)
    if threads:
        env.update(OMP_NUM_THREADS=str(threads), DP_INTRA_OP_PARALLELISM_THREADS=str(threads),
                   DP_INTER_OP_PARALLELISM_THREADS="1", TF_CPP_MIN_LOG_LEVEL="2")
    from thioglass.md.process import run_process

    dp = Path(sys.executable).with_name("dp")
    code = run_process([str(dp), "--tf", *args], cwd=workdir, env=env, log_path=workdir / log_name)
    if code != 0:
        tail = (workdir / log_name).read_text().strip().splitlines()[-1:] or ["(empty log)"]
        raise ThioglassError(f"dp {args[0]} failed in {workdir} (exit {code}): {tail[0][:200]}; see {workdir / log_name}")


def _check_resume(workdir: Path, doc: dict) -> None:
    """A checkpoint continues only the training it was made by: another net, loss or starting learning rate
    would mix two trainings in one model. More steps may be asked for (a longer run continues the first)."""
    previous = workdir / "input.json"
    if not ((workdir / "checkpoint").exists() and previous.exists()):
        return

    def settings(d: dict) -> tuple:
        return d["model"], d["loss"], d["learning_rate"]["start_lr"]

    if settings(json.loads(previous.read_text())) != settings(doc):
        raise ThioglassError(f"{workdir} holds a checkpoint of a training with another net, loss or learning rate "
                             f"({previous}); train into a new folder, or delete this one to start it again")


def train_model(workdir: str | Path, settings: TrainSettings, train_systems: Sequence[str],
                validation_systems: Sequence[str] = (), *, compress: bool = True,
                threads: int | None = None, init_model: str | None = None) -> TrainResult:
    """Train one model in ``workdir`` (created), then freeze and optionally compress it.

    Resumes from the newest checkpoint if a previous run was killed; returns at once if the model
    was already trained to ``settings.schedule.steps``. ``init_model`` (a checkpoint prefix such as
    ``../model_0/model.ckpt``, or a frozen ``.pb``) starts a fresh training from another model's weights;
    a checkpoint of a training with other settings is refused.
    """
    from thioglass.locking import folder_lock

    with folder_lock(workdir, what="training") as workdir:
        return _train_locked(workdir, settings, train_systems, validation_systems, compress=compress,
                             threads=threads, init_model=init_model)


def _train_locked(workdir: Path, settings: TrainSettings, train_systems: Sequence[str],
                  validation_systems: Sequence[str], *, compress: bool, threads: int | None,
                  init_model: str | None) -> TrainResult:
    target = settings.schedule.steps
    frozen, compressed = workdir / FROZEN, workdir / COMPRESSED
    marker = workdir / "done.json"
    # lcurve.out has rows only every disp_freq steps, so completion is recorded explicitly.
    done_steps = json.loads(marker.read_text())["steps"] if marker.exists() else -1
    finished = done_steps >= target and frozen.exists() and (compressed.exists() or not compress)
    if not finished:
        doc = deepmd_input(settings, [str(Path(s).resolve()) for s in train_systems],
                           [str(Path(s).resolve()) for s in validation_systems])
        _check_resume(workdir, doc)
        (workdir / "input.json").write_text(json.dumps(doc, indent=2))
        if done_steps < target:
            if (workdir / "checkpoint").exists():
                restart = ["--restart", "model.ckpt"]
            elif init_model:
                # A frozen model (no checkpoint kept) starts the weights as well as a checkpoint does.
                flag = "--init-frz-model" if init_model.endswith(".pb") else "--init-model"
                restart = [flag, str(Path(init_model).resolve())]
            else:
                restart = []
            _dp(["train", "input.json", *restart], workdir, "train.log", threads)
        _dp(["freeze", "-o", FROZEN], workdir, "freeze.log", threads)
        if compress:
            _dp(["compress", "-i", FROZEN, "-o", COMPRESSED], workdir, "compress.log", threads)
        write_json(marker, {"steps": target, "compressed": compress})
    curve = read_lcurve(workdir / "lcurve.out")
    last = max(curve, default=0)
    steps = json.loads(marker.read_text())["steps"]
    return TrainResult(str(workdir), str(frozen), str(compressed) if compress else None, steps, curve.get(last, {}))
