"""Fine-tune a model on the PBEsol audit frames and score it on the held-out third (issue 12, part 4).

    python training/finetune_pbesol.py --base src/thioglass/data/models/default.pb --out work/finetune \
        --steps 4000 --start-lr 1e-4

1. The audit set's labels (``training/audit-pbesol.extxyz.gz``) are split as ``thioglass reference audit
   --part`` splits them: a third of each system's frames held out, the rest copied into a label store.
2. ``thioglass train --init-model BASE`` fine-tunes on that store (every frame trains: the held-out third
   is the test).
3. ``thioglass reference audit --part heldout`` scores the base and the tuned model against PBEsol, and
   the script prints both rows beside the issue's targets.

Resumable: the store, the training (checkpoints) and the scores are each skipped when already there.
"""

from __future__ import annotations

import argparse
import json
import subprocess
import sys
from pathlib import Path

FRAMES = "training/audit-frames.extxyz"
LABELS = "training/audit-pbesol.extxyz.gz"
THIOGLASS = str(Path(sys.executable).with_name("thioglass"))


def tuning_store(labels: str, out: Path) -> Path:
    from thioglass.mlff.dataset import read_labelled
    from thioglass.reference.audit import load_audit, split_audit
    from thioglass.reference.label import LabelStore, frame_key

    keys = {frame.key for frame in split_audit(load_audit(FRAMES, labels))["tuning"]}
    store = LabelStore(out / "tuning-store")
    for atoms, label in read_labelled(labels):
        key = atoms.info.get("frame_key") or frame_key(atoms)
        if key in keys and store.status(key) is None:
            store.save(key, atoms, label)
    print(f"{len(store.keys('done'))} tuning frames in {store.root}")
    return store.root


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--base", required=True, help="frozen model to fine-tune")
    parser.add_argument("--out", type=Path, required=True)
    parser.add_argument("--labels", default=LABELS)
    parser.add_argument("--steps", type=int, default=4000)
    parser.add_argument("--start-lr", default="1e-4")
    parser.add_argument("--threads", default="1")
    args = parser.parse_args()
    args.out.mkdir(parents=True, exist_ok=True)
    store = tuning_store(args.labels, args.out)
    subprocess.run([THIOGLASS, "train", "--labels", str(store), "-o", str(args.out / "train"), "--init-model",
                    args.base, "--steps", str(args.steps), "--start-lr", args.start_lr, "--validation", "0",
                    "--no-compress", "--threads", args.threads], check=True)
    tuned = json.loads((args.out / "train" / "models.json").read_text())[0]["frozen_model"]
    scores = args.out / "heldout.json"
    subprocess.run([THIOGLASS, "reference", "audit", "--labels", args.labels, "--frames", FRAMES, "--part",
                    "heldout", "--references", f"{args.base},{tuned}", "--json", str(scores)], check=True)
    result = json.loads(scores.read_text())
    print(f"held-out: {result['frames']} frames; targets: force RMSE <= 0.17 eV/Å, slope 0.95-1.05, "
          "mean pressure error within 0.3 GPa, energy differences within 15 %")
    for name, row in result["references"].items():
        print(f"{name}: F RMSE {row['force_rmse_ev_per_angstrom']:.3f}, slope {row['force_slope']:.2f}, "
              f"P {row['pressure_error_mean_gpa']:+.2f} GPa, dE ratio {row['energy_difference_ratio']}")


if __name__ == "__main__":
    main()
