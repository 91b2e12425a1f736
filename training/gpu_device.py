"""Train DeePMD ensemble members on a GPU machine that has PyTorch but no TensorFlow (nor thioglass).

Runs THERE, from the bundle `gpu_bundle.py bundle` writes (`.gpu/`: data.tar.gz, input-<i>.json, wheels):

    python3 -m pip install -q --no-index --no-deps --target /tmp/site .gpu/whl/*.whl
    PYTHONPATH=/tmp/site python3 training/gpu_device.py .gpu --budget-s 420 --out $OUT

Why this shape (the device lends 15 minutes, of which one command may use 10):
1. A short warm-up training of every member at once (``--warm-steps``) measures the seconds per step with
   all members sharing the GPU, and computes the data statistics once.
   With ``init-<i>.dp`` in the bundle (``gpu_bundle.py --init-from``: the loop's latest members), member i
   starts from those weights and statistics (``--init-frz-model``), so the GPU's steps add to the loop's.
2. The main training continues each warm-up member (``--init-model``: weights and statistics, a fresh
   learning-rate schedule) for as many steps as fit ``--budget-s`` at the measured speed, so the learning rate
   decays over the steps that really run (a killed run would leave it high).
3. ``dp --pt freeze`` and ``dp convert-backend`` write each member as ``.dp`` (PyTorch only); `gpu_bundle.py
   collect` turns them into checked TensorFlow ``.pb`` files back here (`thioglass convert-model`).
Everything, timings included, goes into one archive under ``--out``.
"""

from __future__ import annotations

import argparse
import json
import os
import subprocess
import sys
import tarfile
import time
from pathlib import Path

#: DeePMD-kit's PyTorch op library is built for one torch version; without it se_e2_a trains on plain
#: torch operators. The shim declares the op the loader checks, so a mismatch does not stop the run.
#: DeePMD-kit also imports lmdb (LMDB datasets) and mendeleev (element tables for other descriptors) when it
#: loads, and the device image has neither: stand-ins that fail only if used take their place, except for the
#: atomic numbers that DeePMD-kit's statistics sort the types by.
SHIM = """import sys, types, torch

def stand_in(name):
    try:
        __import__(name)
    except ImportError:
        module = types.ModuleType(name)
        def missing(*args, **kwargs):
            raise ImportError(name + " is not installed on this machine")
        def attribute(name_):  # any public name it is asked for (PEP 562); dunders stay absent
            if name_.startswith("__"):
                raise AttributeError(name_)
            return missing
        module.__getattr__ = attribute
        sys.modules[name] = module

stand_in("lmdb")
stand_in("mendeleev")
SYMBOLS = ("H He Li Be B C N O F Ne Na Mg Al Si P S Cl Ar K Ca Sc Ti V Cr Mn Fe Co Ni Cu Zn Ga Ge As Se Br Kr Rb Sr "
           "Y Zr Nb Mo Tc Ru Rh Pd Ag Cd In Sn Sb Te I Xe Cs Ba La Ce Pr Nd Pm Sm Eu Gd Tb Dy Ho Er Tm Yb Lu Hf Ta W "
           "Re Os Ir Pt Au Hg Tl Pb Bi Po At Rn Fr Ra Ac Th Pa U Np Pu Am Cm Bk Cf Es Fm Md No Lr").split()
if isinstance(sys.modules["mendeleev"], types.ModuleType) and not hasattr(sys.modules["mendeleev"], "__file__"):
    # DeePMD-kit sorts the element types by atomic number when it collects statistics: that much it gets.
    sys.modules["mendeleev"].element = lambda symbol: types.SimpleNamespace(atomic_number=SYMBOLS.index(symbol) + 1)
try:
    import deepmd.pt.cxx_op  # noqa: F401
except RuntimeError:
    LIBRARY = torch.library.Library("deepmd", "DEF")  # kept: a collected Library unregisters its ops
    LIBRARY.define("enable_mpi() -> ()")
from deepmd.main import main
sys.exit(main())
"""


SHIM_PATH = Path("/tmp/thioglass-dp-shim.py")


def dp(args: list[str], cwd: Path, log: str) -> subprocess.Popen:
    if not SHIM_PATH.exists() or SHIM_PATH.read_text() != SHIM:  # written once; a stale one is replaced
        SHIM_PATH.write_text(SHIM)
    shim = SHIM_PATH
    handle = open(cwd / log, "w")
    return subprocess.Popen([sys.executable, str(shim), *args], cwd=cwd, stdout=handle, stderr=subprocess.STDOUT)


class StageFailed(Exception):
    pass


def run_all(procs: list[subprocess.Popen], what: str) -> None:
    codes = [p.wait() for p in procs]
    if any(codes):
        raise StageFailed(f"{what} failed (exit codes {codes}); see the logs in the archive")


def seconds_per_step(member: Path) -> float:
    """From the 'average training time: X s/batch' line that dp train prints at its end."""
    for line in (member / "train.log").read_text().splitlines()[::-1]:
        if "average training time" in line:
            return float(line.split(":")[-1].split("s/batch")[0])
    raise StageFailed(f"no timing in {member / 'train.log'}")


def stage(bundle: Path, work: Path, name: str, steps: int, init: str | None) -> list[subprocess.Popen]:
    procs = []
    for doc_path in sorted(bundle.glob("input-*.json")):
        member = work / doc_path.stem.replace("input", "member") / name
        member.mkdir(parents=True, exist_ok=True)
        doc = json.loads(doc_path.read_text())
        doc["training"]["numb_steps"] = steps
        doc["training"]["disp_freq"] = max(1, min(1000, steps // 20))
        doc["training"]["save_freq"] = max(1, steps // 4)
        doc["learning_rate"]["decay_steps"] = min(doc["learning_rate"]["decay_steps"], max(1, steps // 10))
        for key in ("training_data", "validation_data"):
            if key in doc["training"]:
                doc["training"][key]["systems"] = [str((work / s).resolve()) for s in doc["training"][key]["systems"]]
        (member / "input.json").write_text(json.dumps(doc, indent=1))
        start = bundle / doc_path.name.replace("input", "init").replace(".json", ".pth")
        if init:
            extra = ["--init-model", str((member.parent / init / "model.ckpt.pt").resolve())]
        else:  # a loop member's weights when the bundle carries them (gpu_bundle.py --init-from)
            extra = ["--init-frz-model", str(start.resolve())] if start.exists() else []
        procs.append(dp(["--pt", "train", "input.json", *extra], member, "train.log"))
    return procs


def train(args: argparse.Namespace, report: dict) -> None:
    """Warm-up, main training, freeze and convert; fills ``report`` as it goes."""
    work, start = args.work, time.time()
    with tarfile.open(args.bundle / "data.tar.gz") as tar:
        tar.extractall(work, filter="data")
    report["unpacked_s"] = time.time() - start
    t0 = time.time()
    starts = sorted(args.bundle.glob("init-*.dp"))  # TensorFlow-trained members, as PyTorch models
    run_all([dp(["convert-backend", p.name, p.with_suffix(".pth").name], p.parent, f"{p.stem}-convert.log")
             for p in starts], "conversion of the starting members")
    report["init_members"] = len(starts)
    run_all(stage(args.bundle, work, "warm", args.warm_steps, None), "warm-up")
    members = sorted(work.glob("member-*"))
    per_step = max(seconds_per_step(m / "warm") for m in members)
    steps = int(min(args.max_steps, max(args.warm_steps, args.budget_s / per_step)))
    report.update(warm_s=time.time() - t0, seconds_per_step_shared=per_step, main_steps=steps,
                  members=len(members))
    t0 = time.time()
    run_all(stage(args.bundle, work, "main", steps, "warm"), "training")
    report["main_s"] = time.time() - t0
    mains = [member / "main" for member in members]
    run_all([dp(["--pt", "freeze", "-o", "frozen_model.pth"], m, "freeze.log") for m in mains], "freeze")
    run_all([dp(["convert-backend", "frozen_model.pth", "frozen_model.dp"], m, "convert.log") for m in mains], "convert")
    for member in members:
        report[member.name] = {"seconds_per_step": seconds_per_step(member / "main")}


def archive(work: Path, bundle: Path, out: Path, report: dict) -> None:
    """Everything worth bringing back, in one file (the device returns at most 8)."""
    (work / "report.json").write_text(json.dumps(report, indent=1))
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(out / "members.tar.gz", "w:gz") as tar:
        tar.add(work / "report.json", "report.json")
        for log in sorted(bundle.glob("init-*-convert.log")):
            tar.add(log, log.name)
        for member in sorted(work.glob("member-*")):
            for part in ("warm", "main"):
                for name in ("frozen_model.dp", "lcurve.out", "input.json", "train.log", "freeze.log", "convert.log"):
                    path = member / part / name
                    if path.exists():
                        tar.add(path, f"{member.name}/{part}/{name}")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("bundle", type=Path)
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--budget-s", type=float, default=420.0, help="wall time for the main training")
    parser.add_argument("--warm-steps", type=int, default=300)
    parser.add_argument("--max-steps", type=int, default=400_000)
    parser.add_argument("--work", type=Path, default=Path("/tmp/gpu-work"))
    args = parser.parse_args()
    args.work.mkdir(parents=True, exist_ok=True)
    start, report = time.time(), {}
    try:
        train(args, report)
    except StageFailed as err:
        report["error"] = str(err)
    report["total_s"] = time.time() - start
    archive(args.work, args.bundle, args.out, report)
    print(json.dumps(report, indent=1))
    if "error" in report:
        raise SystemExit(report["error"])


if __name__ == "__main__":
    os.environ.setdefault("DP_INTER_OP_PARALLELISM_THREADS", "1")
    os.environ.setdefault("DP_INTRA_OP_PARALLELISM_THREADS", "2")
    os.environ.setdefault("OMP_NUM_THREADS", "2")
    main()
