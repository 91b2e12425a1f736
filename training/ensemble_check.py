"""The shipped ensemble's force deviation on the shipped model's held-out test set, by system (issue 15).

    python training/ensemble_check.py --out docs/bench/ensemble-test-set-deviation.json

The test set (``data/models/default-test-set.extxyz``) is MD of the shipped model labelled by its reference,
so it is in the training distribution: the deviation here is what the ensemble gives where the model was
trained, the baseline against which the trust window (0.2/0.4 eV/Å) reads. Every frame is evaluated by the
production model and the members through DeePMD's Python API; the kernel is the one LAMMPS' rows match.
"""

from __future__ import annotations

import argparse
import json
from collections import defaultdict
from pathlib import Path



def main() -> None:
    from ase.io import iread

    from thioglass.mlff.ensemble import deviation_stats, shipped_ensemble
    from thioglass.mlff.evaluate import max_force_deviation
    from thioglass.potential import default_model

    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--out", type=Path, required=True)
    args = parser.parse_args()
    paths = [str(p) for p in (default_model(), *shipped_ensemble())]
    test_set = Path(paths[0]).with_name("default-test-set.extxyz")
    by_system: dict[str, list[float]] = defaultdict(list)
    for atoms in iread(str(test_set), index=":"):
        by_system[atoms.info.get("system", "untagged")].append(max_force_deviation(paths, atoms))
    rows = {system: deviation_stats(values) for system, values in sorted(by_system.items())}
    everything = deviation_stats([v for values in by_system.values() for v in values])
    out = {"models": [Path(p).name for p in paths], "test_set": test_set.name, "all": everything, "by_system": rows}
    args.out.write_text(json.dumps(out, indent=1) + "\n")
    for system, s in [("all", everything), *rows.items()]:
        print(f"{system}: {s['n_frames']} frames, median {s['median_eV_A']:.3f}, p99 {s['p99_eV_A']:.3f}, "
              f"> 0.2: {100 * s['share_above_low']:.0f} %, > 0.4: {100 * s['share_above_high']:.0f} %")


if __name__ == "__main__":
    main()
