"""Assemble the shipped model's card (JSON in the package, Markdown in docs/) from the files that measured it.

    python training/model_card.py --model-dir DIR --labels STORE --test TEST.json --test-set TEST.extxyz \
        --stability STABILITY.json \
        --bench BENCH.json --iterations A.json [B.json ...] --out-json CARD.json --out-md CARD.md \
        [--validation validation-model.json]
    python training/model_card.py --from-card src/thioglass/data/models/default.json \
        --validation validation-model.json --out-json CARD.json --out-md CARD.md   # add a validation only

Nothing is typed in by hand: every number comes from a training, test, stability or benchmark output.
"""

from __future__ import annotations

import argparse
import json
from datetime import date
from pathlib import Path

import numpy as np

from thioglass.mlff.dataset import store_frames
from thioglass.reference.label import LabelStore

TARGETS = {"rmse_energy_mev_per_atom": 7.6, "rmse_force_ev_per_angstrom": 0.17}  # the paper, against DFT


def family(symbols: list[str]) -> str:
    """Li2S-SiS2-P2S5 family of a frame from its element counts (crystals and glasses alike)."""
    counts = {e: symbols.count(e) for e in ("Li", "Si", "P")}
    parts = [name for name, present in (("Li2S", counts["Li"]), ("SiS2", counts["Si"]), ("P2S5", counts["P"]))
             if present]
    return "-".join(parts) if parts else "S"


def data_summary(store: LabelStore) -> dict:
    by_family: dict[str, dict] = {}
    atoms_total = 0
    for atoms, _ in store_frames(store):
        entry = by_family.setdefault(family(atoms.get_chemical_symbols()), {"frames": 0, "atoms": 0})
        entry["frames"] += 1
        entry["atoms"] += len(atoms)
        atoms_total += len(atoms)
    return {"frames": sum(e["frames"] for e in by_family.values()), "atoms": atoms_total,
            "by_family": dict(sorted(by_family.items()))}


def count_tag(path: Path, key: str, default: str | None) -> dict[str, int]:
    """Frames of an extxyz per value of one ``info`` tag (``system`` of the extra MD data, ``source`` of the
    test set); untagged frames count under ``default``, or under their formula when it is None (an exported
    label store carries no tags)."""
    from collections import Counter

    from ase.io import iread

    def tag(atoms) -> str:
        return atoms.info.get(key, default) or atoms.get_chemical_formula(mode="metal")

    return dict(sorted(Counter(tag(atoms) for atoms in iread(path, ":")).items()))


def training_summary(model_dir: Path) -> dict:
    config = json.loads((model_dir / "input.json").read_text())
    table = np.loadtxt(model_dir / "lcurve.out", ndmin=2)
    names = (model_dir / "lcurve.out").read_text().splitlines()[0].lstrip("#").split()
    last = dict(zip(names, table[-1]))
    return {"architecture": {"descriptor": config["model"]["descriptor"], "fitting_net": config["model"]["fitting_net"]},
            "steps": int(config["training"]["numb_steps"]), "learning_rate": config["learning_rate"],
            "loss": config["loss"], "final_lcurve": {k: float(v) for k, v in last.items()}}


def speed_summary(bench: dict) -> dict:
    return {"machine": bench.get("machine"), "threads": bench.get("settings", {}).get("threads", 2),
            "lammps_katom_steps_per_s": bench["lammps"],
            "lammps_1_thread": bench.get("lammps_1_thread", {}), "concurrent": bench.get("concurrent"),
            "reference": bench.get("reference"), "speedup_over_reference": bench.get("speedup_over_reference"),
            "speedup_by_size": bench.get("speedup_by_size", {}),
            "speedup_best_threads_by_size": bench.get("speedup_best_threads_by_size", {})}


def by_system(model: Path, test_set: Path) -> dict:
    """Errors per test system, with the mean signed energy error (a whole-system offset shows there)."""
    from thioglass.mlff.dataset import read_labelled
    from thioglass.mlff.evaluate import parity_by

    out = {}
    for name, part in parity_by(str(model), read_labelled(test_set), "system").items():
        bias = float(np.mean(np.array(part.energy_pred) - np.array(part.energy_ref)) * 1000)
        out[name] = {**part.metrics(), "mean_energy_error_mev_per_atom": bias}
    return out


def ensemble_lines(ensemble: dict | None) -> list[str]:
    """The card's ``## Ensemble`` section: the members every MD run's trust signal uses, and their deviation
    on the held-out test set (``training/ensemble_check.py``)."""
    if not ensemble:
        return ["", "## Ensemble", "", "No ensemble ships with this model: MD runs record no model deviation."]
    lines = ["", "## Ensemble", "",
             f"{len(ensemble['members'])} members beside the production model "
             f"(`data/models/ensemble/`: {', '.join(ensemble['members'])}; seeds "
             f"{', '.join(str(s) for s in ensemble['seeds'])}; {ensemble['steps']} steps). {ensemble['note']}"]
    check = ensemble.get("test_set_deviation")
    if check:
        lines += ["", f"On the held-out test set ({check['n_frames']} frames of the model's own MD, in its training "
                  f"distribution) the ensemble's max force deviation has median {check['median_eV_A']:.3f} eV/Å and "
                  f"99th percentile {check['p99_eV_A']:.3f}; {100 * check['share_above_low']:.0f} % of the frames are "
                  f"above the trust window's 0.2 eV/Å and {100 * check['share_above_high']:.0f} % above 0.4 "
                  "(`docs/bench/ensemble-test-set-deviation.json`, by system)."]
        if check.get("reading"):
            lines += ["", check["reading"]]
    return lines


def markdown(card: dict, validation: dict | None = None) -> str:
    test, speed = card["test_set"], card["speed"]
    lines = [f"# Model card: {card['name']}", "",
             f"File `src/thioglass/data/models/{card['file']}` (frozen, compressed DeePMD-kit {card['deepmd_kit']} "
             f"model, TensorFlow backend). Built {card['date']} by the recipes in `training/`.", ""]
    if validation:  # the independent validation (`thioglass validate-model`) is the card's main section
        from thioglass.mlff.validation.report import markdown as validation_markdown

        lines += [validation_markdown(validation)]
    lines += ["## Reference", "", card["reference_note"], "",
             "## Training data", "",
             f"{card['data']['frames']} labelled frames, {card['data']['atoms']} atoms in all, from "
             f"{len(card['learning'])} concurrent-learning iterations (`training/learn-lisips*.yml`)"
             + (f" and {sum(card['md_frames'].values())} frames of MD with the previous model in every crystal and "
                "glass family (`training/crystal_frames.py`)" if card.get("md_frames") else "") + ".", "",
             "| family | frames | atoms |", "|---|---:|---:|"]
    lines += [f"| {name} | {e['frames']} | {e['atoms']} |" for name, e in card["data"]["by_family"].items()]
    if card.get("md_frames"):
        lines += ["", "MD frames added after the loop, by system:", "", "| system | frames |", "|---|---:|"]
        lines += [f"| {name} | {count} |" for name, count in card["md_frames"].items()]
    lines += ["", "| iteration | labels after | accurate share | candidates | failed | val. force RMSE (eV/Å) |",
              "|---|---:|---:|---:|---:|---:|"]
    lines += [f"| {r['stage']}.{r['iteration']} | {r['labels_total']} | {100 * r['accurate_fraction']:.1f}% | "
              f"{r['candidate']} | {r['failed']} | {r['rmse_f_val_ev_per_angstrom']:.3f} |" for r in card["learning"]]
    training = card["training"]
    lines += ["", "## Final training", "",
              f"{training['steps']} steps, descriptor {training['architecture']['descriptor']['type']} "
              f"rcut {training['architecture']['descriptor']['rcut']} Å, embedding "
              f"{training['architecture']['descriptor']['neuron']}, fitting {training['architecture']['fitting_net']['neuron']}, "
              f"{training['architecture']['descriptor']['precision']}.", "",
              "## Held-out test set", "",
              f"`{test['file']}`: {test['frames']} frames never trained on, labelled with the same reference, from "
              "melt-quench MD of every glass family (1700 K melt, 300 K and 650 K holds) and every bundled crystal "
              "heated to 650 K (`training/make_test_set.py`)"
              + (": " + ", ".join(f"{n} frames from {src}" for src, n in test["sources"].items()) if test.get("sources")
                 else "") + ".", "",
              "| family | frames | energy RMSE (meV/atom) | force RMSE (eV/Å) | virial RMSE (meV/atom) |",
              "|---|---:|---:|---:|---:|"]
    rows = list(test["by_family"].items()) + [("**all**", test["overall"])]
    lines += [f"| {name} | {m['frames']} | {m['rmse_energy_mev_per_atom']:.2f} | {m['rmse_force_ev_per_angstrom']:.3f} | "
              f"{m.get('rmse_virial_mev_per_atom', float('nan')):.2f} |" for name, m in rows]
    lines += ["", "![parity on the held-out set](model-card-parity.png)"]
    met = {k: test["overall"][k] <= v for k, v in TARGETS.items()}
    lines += ["", f"Targets (the paper's errors against DFT): {TARGETS['rmse_energy_mev_per_atom']} meV/atom "
              f"({'met' if met['rmse_energy_mev_per_atom'] else 'NOT met'}) and {TARGETS['rmse_force_ev_per_angstrom']} "
              f"eV/Å ({'met' if met['rmse_force_ev_per_angstrom'] else 'NOT met'}).", "",
              "Per system (the mean signed error shows whether a system's energy is offset as a whole):", "",
              "| system | frames | energy RMSE (meV/atom) | mean energy error (meV/atom) | force RMSE (eV/Å) |",
              "|---|---:|---:|---:|---:|"]
    lines += [f"| {name} | {m['frames']} | {m['rmse_energy_mev_per_atom']:.2f} | {m['mean_energy_error_mev_per_atom']:+.2f} | "
              f"{m['rmse_force_ev_per_angstrom']:.3f} |" for name, m in test["by_system"].items()]
    lines += ["", "## Stability", "",
              "Each MD run of the test-set recipe (glasses: 3 ps NVT at 1700 K, 4 ps cooling to 300 K, 3 ps NPT at "
              "300 K and 3 ps at 650 K; crystals: 3 ps NPT heated from 300 to 650 K) either finished with every check "
              "of the LAMMPS engine passed (no lost atoms, no atoms closer than 0.6 Å, no runaway temperature or "
              "energy) or is listed as unstable with its error:", ""]
    lines += [f"- {name}: {state}" for name, state in card["stability"].items()]
    lines += ensemble_lines(card.get("ensemble"))
    from thioglass.workflow.domain_map import card_section

    lines += ["", card_section().rstrip("\n")]  # the shipped domain map (docs/domain-map.md)
    lines += ["", "## Speed", ""]
    for variant, by_size in speed["lammps_katom_steps_per_s"].items():
        for size, rate in by_size.items():
            lines.append(f"- LAMMPS {variant}, {size} atoms: {rate['katom_steps_per_s']:.1f} katom-step/s "
                         f"({speed.get('threads', 2)} threads)")
    for size, rate in speed.get("lammps_1_thread", {}).items():
        lines.append(f"- LAMMPS, {size} atoms, 1 thread: {rate['katom_steps_per_s']:.1f} katom-step/s")
    if speed.get("concurrent"):
        both = speed["concurrent"]
        lines.append(f"- {both['runs']} single-thread runs side by side, {both['atoms']} atoms: "
                     f"{both['katom_steps_per_s']:.1f} katom-step/s in all")
    reference = speed["reference"]
    if reference:
        for size, rate in reference.get("by_size", {str(reference["atoms"]): reference}).items():
            ratio = speed["speedup_by_size"].get(size)
            best = speed.get("speedup_best_threads_by_size", {}).get(size)
            lines.append(f"- reference {reference['name']} through ASE, {size} atoms: {rate['atom_steps_per_s']:.0f} "
                         f"atom-step/s; the shipped model is {ratio:.0f}x faster"
                         + (f" ({best:.0f}x at its faster thread count)" if best else ""))
    for rerun in speed.get("reruns", []):
        ref = rerun["reference"]
        for size, rate in ref.get("by_size", {}).items():
            lines.append(f"- rerun at {size} atoms, alone on the machine: the model {rerun['lammps_katom_steps_per_s']['compressed'][size]['katom_steps_per_s']:.1f} "
                         f"katom-step/s (2 threads), {rerun['lammps_1_thread'][size]['katom_steps_per_s']:.1f} (1 thread); "
                         f"the reference {rate['atom_steps_per_s']:.0f} atom-step/s: {rerun['speedup_by_size'][size]:.0f}x "
                         f"({rerun['speedup_best_threads_by_size'][size]:.0f}x at one thread)")
    if speed.get("note"):
        lines += ["", speed["note"]]
    machine = speed.get("machine") or {}
    lines += ["", f"Measured on {machine.get('cpu_model', 'this machine')} with {machine.get('cpus_usable', '?')} "
              "usable CPU cores (shared) by `thioglass bench md`.", ""]
    return "\n".join(lines)


MEASURED = ("--model-dir", "--labels", "--test", "--stability", "--bench", "--iterations", "--test-set")


def measured_card(args: argparse.Namespace) -> dict:
    """The card from the files that measured the model."""
    import deepmd

    test = json.loads(args.test.read_text())
    test["by_system"] = by_system(args.model_dir / "compressed_model.pb", args.test_set)
    test["sources"] = count_tag(args.test_set, "source", "MD of the model under test")
    learning = [dict(record, stage=k + 1) for k, path in enumerate(args.iterations)
                for record in json.loads(path.read_text())]
    card = {
        "name": "thioglass default Li-Si-P-S force field", "file": "default.pb", "date": date.today().isoformat(),
        "deepmd_kit": deepmd.__version__, "type_map": ["Li", "Si", "P", "S"],
        "reference": "sevennet-mf-0-r2scan",
        "reference_note": "SevenNet-MF-0, r2SCAN head (`sevennet-mf-0-r2scan`), chosen because it is the closest of "
                          "the bundled references to the experimental densities of the Li-P-S crystals "
                          "(docs/reference-comparison.md). The paper's reference was PBEsol DFT (VASP). Against PBEsol "
                          "DFT (GPAW at the paper's settings, `gpaw-pbesol`) this reference is strongly softened: "
                          "force parity slope 0.53 and force RMSE 0.34 eV/Å on the first 17 audit frames "
                          "(docs/reference-comparison.md), and the model inherits that; the errors below are "
                          "against SevenNet-MF-0, not DFT.",
        "data": data_summary(LabelStore(args.labels)), "learning": learning,
        "md_frames": count_tag(args.md_frames, "system", None) if args.md_frames else {},
        "training": training_summary(args.model_dir),
        "test_set": {"file": args.test_file, "frames": test["frames"], "overall": {k: v for k, v in test.items()
                                                                                   if k.startswith(("rmse", "mae", "frames"))},
                     "by_family": test["by_family"], "by_system": test["by_system"], "sources": test["sources"],
                     "targets": TARGETS},
        "stability": json.loads(args.stability.read_text()),
        "speed": speed_summary(json.loads(args.bench.read_text())),
    }
    if args.speed_note:
        card["speed"]["note"] = args.speed_note
    if args.out_json.is_file():  # the ensemble is trained and checked apart from the model: keep its entry
        card["ensemble"] = json.loads(args.out_json.read_text()).get("ensemble")
    return card


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    for name in MEASURED[:5]:
        parser.add_argument(name, type=Path)
    for name in ("--out-json", "--out-md"):
        parser.add_argument(name, type=Path, required=True)
    parser.add_argument("--iterations", type=Path, nargs="+")
    parser.add_argument("--test-set", type=Path, help="The held-out extxyz the test JSON measured.")
    parser.add_argument("--test-file", default="default-test-set.extxyz")
    parser.add_argument("--md-frames", type=Path, help="frames.extxyz of crystal_frames.py, or its exported labels.")
    parser.add_argument("--speed-note", default="", help="What the speed numbers need said beside them.")
    parser.add_argument("--validation", type=Path, help="validation-model.json of `thioglass validate-model` on this "
                        "model: its pass/fail table becomes the card's main section.")
    parser.add_argument("--from-card", type=Path, help="An existing card JSON to render again (with --validation) "
                        "instead of the measuring inputs.")
    args = parser.parse_args()
    if args.from_card:
        card = json.loads(args.from_card.read_text())
    else:
        missing = [name for name in MEASURED if getattr(args, name[2:].replace("-", "_")) is None]
        if missing:
            parser.error(f"{', '.join(missing)} are required (or --from-card CARD.json)")
        card = measured_card(args)
    validation = json.loads(args.validation.read_text()) if args.validation else None
    if validation:
        card["validation"] = {key: validation[key] for key in ("preset", "reference", "passed", "checks")}
    args.out_json.write_text(json.dumps(card, indent=2) + "\n")
    args.out_md.write_text(markdown(card, validation))
    print(f"card -> {args.out_json}, {args.out_md}")


if __name__ == "__main__":
    main()
