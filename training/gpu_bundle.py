"""Train ensemble members on a lent GPU machine: pack the bundle here, collect the models back here.

The device machine has PyTorch but neither TensorFlow nor thioglass, and cannot download anything. So:

    # here: labels -> DeePMD npy sets, one PyTorch-backend input per member, and DeePMD-kit's wheels
    python training/gpu_bundle.py bundle --labels work/learn-3/labels --architecture paper --members 4 --out .gpu
    # there (one `run` call, `carry: [".gpu"]`, timeout 560 s): see training/README.md, "Training on a GPU"
    # here: each member's .dp -> a TensorFlow .pb checked against it (thioglass convert-model)
    python training/gpu_bundle.py collect /work/.device/.../members.tar.gz --out work/gpu

The members train with the same `input.json` thioglass writes for ``dp --tf train`` (`deepmd_input`); only the
backend differs. `training/gpu_device.py` is the part that runs there.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
import tarfile
import tempfile
from pathlib import Path

#: DeePMD-kit and what it needs that the device image lacks (its torch is 2.11, the version DeePMD-kit
#: 3.2.0's wheel was built against). mendeleev and lmdb are not imported by se_e2_a training.
WHEELS = ("deepmd-kit==3.2.0", "dargs==0.5.1", "wcmatch==12.0.4", "bracex==3.2.4", "array-api-compat==1.16.0")
PLATFORMS = ("manylinux_2_28_x86_64", "manylinux_2_27_x86_64", "manylinux_2_17_x86_64", "manylinux2014_x86_64")


def download_wheels(folder: Path) -> None:
    folder.mkdir(parents=True, exist_ok=True)
    if len(list(folder.glob("*.whl"))) >= len(WHEELS):
        return
    platforms = [arg for p in PLATFORMS for arg in ("--platform", p)]
    subprocess.run([sys.executable, "-m", "pip", "download", "-q", "--no-deps", "--only-binary=:all:",
                    "--python-version", "3.12", "--implementation", "cp", *platforms, "-d", str(folder), *WHEELS],
                   check=True)


def halve_precision(data: Path) -> None:
    """Coordinates, cells and labels as float32: half the bytes to carry, and DeePMD casts what it loads to the
    model's precision. float32 keeps 7 digits: 1e-6 Å on a 10 Å cell, 1e-6 eV/atom on a -4000 eV cell."""
    import numpy as np

    for path in data.glob("*/*/set.*/*.npy"):
        array = np.load(path)
        if array.dtype == np.float64:
            np.save(path, array.astype(np.float32))


def bundle(args: argparse.Namespace) -> None:
    from thioglass.elements import TYPE_MAP
    from thioglass.mlff.config import Schedule, TrainSettings, architecture, deepmd_input
    from thioglass.mlff.dataset import SplitSettings, write_training_sets
    from thioglass.mlff.train import neighbour_sel
    from thioglass.reference.label import LabelStore

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tempfile.TemporaryDirectory() as scratch:
        root = Path(scratch)
        parts = write_training_sets(LabelStore(args.labels), root / "data", SplitSettings(args.validation, args.seed))
        names = args.architecture.split(",")
        names = names * args.members if len(names) == 1 else names
        if len(names) != args.members:
            raise SystemExit(f"--architecture gives {len(names)} names for {args.members} members; give one, or one each")
        sels: dict[str, tuple[int, ...]] = {}
        for name in dict.fromkeys(names):  # sel depends on the cutoff: once per architecture
            sels[name] = tuple(int(x) for x in args.sel.split(",")) if args.sel else \
                neighbour_sel(parts["train"], architecture(name).rcut_angstrom, TYPE_MAP)
        relative = {k: [str(Path(p).relative_to(root)) for p in v] for k, v in parts.items()}
        # from a loop's members: its reuse schedule's prefactors (training/learn-lisips-3.yml), not those of a
        # start from random weights, whose force-heavy loss would pull trained energies off
        prefs = dict(start_pref_e=0.1, start_pref_f=100.0) if args.init_from else {}
        schedule = Schedule.sized(1000, start_lr=args.start_lr, batch_size=args.batch_size, **prefs)
        for i in range(args.members):
            settings = TrainSettings(architecture=architecture(names[i]), schedule=schedule, seed=args.seed + 1000 * i,
                                     sel=sels[names[i]])
            doc = deepmd_input(settings, relative["train"], relative["validation"])
            (out / f"input-{i}.json").write_text(json.dumps(doc, indent=1))
            if args.init_from:
                init_member(args.init_from / f"model_{i}" / "frozen_model.pb", doc["model"], out / f"init-{i}.dp")
        halve_precision(root / "data")
        with tarfile.open(out / "data.tar.gz", "w:gz") as tar:
            tar.add(root / "data", "data")
    download_wheels(out / "whl")
    size = sum(p.stat().st_size for p in out.rglob("*") if p.is_file()) / 2**20
    (out / "bundle.json").write_text(json.dumps({"labels": str(args.labels), "architecture": names,
                                                 "init_from": str(args.init_from) if args.init_from else None,
                                                 "sel": {k: list(v) for k, v in sels.items()}, "members": args.members, "seed": args.seed,
                                                 "systems": {k: len(v) for k, v in parts.items()}}, indent=1))
    print(f"{out}: {args.members} members ({', '.join(names)}), sel {sels}, {size:.1f} MiB to carry")
    tracked = tracked_mib()
    if tracked + size > 60:
        print(f"the tracked files on disk are {tracked:.1f} MiB and travel too (limit 64 in all): remove the "
              "committed label archives from the working tree for the run, then restore them:\n"
              "  git ls-files training | grep -E '[.](gz|extxyz)$' > /tmp/big; xargs rm < /tmp/big\n"
              "  ... the run ...\n"
              "  git checkout -- $(cat /tmp/big)")


def init_member(frozen: Path, model: dict, out: Path) -> None:
    """``out``: the member ``frozen`` (a loop member, TensorFlow) serialised, for the device to start from
    (``dp --pt train --init-frz-model``: weights and statistics). It must be the model the input trains."""
    from thioglass.learn.adopt import mismatch
    from thioglass.mlff.convert import model_definition

    if not frozen.is_file():
        raise SystemExit(f"{frozen} does not exist: --init-from takes a loop iteration's train folder")
    problem = mismatch(model, model_definition(frozen))
    if problem:
        raise SystemExit(f"{frozen} is not the model the bundle trains ({problem}); give the loop's --architecture "
                         "and --sel")
    dp = Path(sys.executable).with_name("dp")
    subprocess.run([str(dp), "convert-backend", str(frozen.resolve()), out.name], cwd=out.parent, check=True,
                   capture_output=True)


def tracked_mib() -> float:
    """Size of the tracked files present in the working tree: the device's `run` sends them with `carry`."""
    root = Path(__file__).resolve().parents[1]
    listing = subprocess.run(["git", "ls-files", "-z"], capture_output=True, cwd=root)
    files = [root / n.decode() for n in listing.stdout.split(b"\0") if n] if listing.returncode == 0 else []
    return sum(f.stat().st_size for f in files if f.is_file()) / 2**20


def collect(args: argparse.Namespace) -> None:
    from thioglass.mlff.convert import to_tensorflow

    out: Path = args.out
    out.mkdir(parents=True, exist_ok=True)
    with tarfile.open(args.archive) as tar:
        tar.extractall(out, filter="data")
    for member in sorted(out.glob("member-*")):
        source = member / "main" / "frozen_model.dp"
        diff = to_tensorflow(source, member / "frozen_model.pb")
        print(f"{member / 'frozen_model.pb'}: probe energies within {diff:.1e} eV/atom of the .dp")
    print(json.loads((out / "report.json").read_text()))


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    sub = parser.add_subparsers(dest="command", required=True)
    b = sub.add_parser("bundle")
    b.add_argument("--labels", type=Path, required=True, help="label store")
    b.add_argument("--architecture", default="paper", help="one for every member, or one per member "
                   "(paper,paper,fast-5.5,fast-5.5: a capacity study in one run)")
    b.add_argument("--members", type=int, default=4)
    b.add_argument("--sel", help="neighbours per type Li,Si,P,S (default: from the data); the loop's own "
                   "(work/learn-3/sel.json) for members it will reuse")
    b.add_argument("--init-from", type=Path, help="a loop iteration's train folder (model_<i>/frozen_model.pb): "
                   "member i continues from its weights; give the loop's --architecture and --sel, and a lower "
                   "--start-lr (1e-3). Without it the members start from random weights")
    b.add_argument("--seed", type=int, default=5011)
    b.add_argument("--validation", type=float, default=0.05)
    b.add_argument("--start-lr", type=float, default=2e-3)
    b.add_argument("--batch-size", default="auto:512", help="DeePMD batch size (auto:N: N atoms per batch)")
    b.add_argument("--out", type=Path, default=Path(".gpu"))
    c = sub.add_parser("collect")
    c.add_argument("archive", type=Path)
    c.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    bundle(args) if args.command == "bundle" else collect(args)


if __name__ == "__main__":
    main()
