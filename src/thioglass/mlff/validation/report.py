"""Pass/fail rows of the three checks and the Markdown section of the model card."""

from __future__ import annotations

from pathlib import Path


def _fmt(value, digits: int = 2) -> str:
    return "n/a" if value is None else f"{value:.{digits}f}"


def _row(check: str, system: str, quantity: str, model: str, reference: str, target: str, passed: bool) -> dict:
    return {"check": check, "system": system, "quantity": quantity, "model": model, "reference": reference,
            "target": target, "passed": bool(passed)}


def heldout_rows(heldout: dict) -> list[dict]:
    targets = heldout["targets"]
    rows = []
    for name, m in heldout["by_family"].items():
        rows.append(_row("held-out frames", name, f"RMSE E / F ({m['frames']} frames)",
                         f"{m['rmse_energy_mev_per_atom']:.2f} meV/atom, {m['rmse_force_ev_per_angstrom']:.3f} eV/Å",
                         "labels", f"≤ {targets['rmse_energy_mev_per_atom']} meV/atom, "
                         f"≤ {targets['rmse_force_ev_per_angstrom']} eV/Å", m["passed"]))
    for run, message in heldout.get("failed_runs", {}).items():
        rows.append(_row("held-out frames", run, "reference MD", "-", f"failed: {message}", "runs", False))
    return rows


def minimum_rows(minimum: dict, settings: dict) -> list[dict]:
    rows = []
    for name, c in minimum["crystals"].items():
        lattice, ref, mod = c["lattice"], c["reference_relaxed"], c["model_relaxed"]
        rows.append(_row("crystal at the reference's minimum", name, "lattice a, b, c and density",
                         f"{', '.join(f'{x:+.1f}' for x in lattice['lattice_deviation_percent'])} %; "
                         f"{mod['density_g_cm3']:.3f} g/cm³ ({lattice['density_deviation_percent']:+.1f} %)"
                         + ("" if lattice["converged"] else " (not converged)"),
                         f"{', '.join(f'{x:.3f}' for x in ref['cellpar'][:3])} Å, {ref['density_g_cm3']:.3f} g/cm³",
                         f"lengths within {settings['lattice_tolerance_percent']} %, density within "
                         f"{settings['density_tolerance_percent']} %", lattice["passed"]))
        fits = {who: " / ".join(_fmt(c["eos"][who].get(fit, {}).get("bulk_modulus_gpa"), 1)
                                for fit in ("fit", "pressure_fit")) for who in ("model", "reference")}
        rows.append(_row("crystal at the reference's minimum", name, "EOS bulk modulus from E(V) / P(V) (GPa)",
                         fits["model"], fits["reference"], f"both within {settings['bulk_modulus_tolerance_percent']} %",
                         c["eos_bulk_modulus"]["passed"]))
        smooth = {who: c["eos"][who]["smoothness"] for who in ("model", "reference")}
        rows.append(_row("crystal at the reference's minimum", name, "P(V) smooth: max slope change / mean slope",
                         f"{smooth['model']['max_relative_slope_change']:.2f}"
                         + ("" if smooth["model"]["monotonic"] else " (not monotonic)"),
                         f"{smooth['reference']['max_relative_slope_change']:.2f}",
                         f"monotonic, ≤ {c['eos_smooth']['allowed_relative_slope_change']:.2f}",
                         c["eos_smooth"]["passed"]))
        if "elastic" in c:
            for key, label, tolerance in (("bulk_modulus_vrh_GPa", "elastic B_VRH (GPa)", "bulk"),
                                          ("shear_modulus_vrh_GPa", "elastic G_VRH (GPa)", "shear")):
                model, reference = c["elastic"]["model"], c["elastic"]["reference"]
                verdict = c["elastic_bulk_modulus" if tolerance == "bulk" else "elastic_shear_modulus"]
                rows.append(_row("crystal at the reference's minimum", name, label,
                                 _fmt(model.get(key), 1) if "error" not in model else "failed",
                                 _fmt(reference.get(key), 1) if "error" not in reference else "failed",
                                 f"within {settings[f'{tolerance}_modulus_tolerance_percent']} %", verdict["passed"]))
    for name, message in minimum.get("failed", {}).items():
        rows.append(_row("crystal at the reference's minimum", name, "all", "-", f"failed: {message}", "runs", False))
    return rows


def motif_rows(motifs: dict, settings: dict) -> list[dict]:
    rows = []
    for run in motifs["runs"]:
        system = f"{run['crystal']} {run['temperature_k']:g} K"
        if "error" in run:
            rows.append(_row("bonding motifs", system, "model MD", "failed", "-", "runs", False))
        for motif, m in run["motifs"].items():
            rows.append(_row("bonding motifs", system, f"{motif} (start {m['initial']:g})", f"{m['model']:.1f}",
                             f"{m['reference']:.1f}", f"≥ {1 - settings['motif_tolerance']:.2f} × reference",
                             m["verdict"] != "lost"))
    for name, message in motifs.get("failed", {}).items():
        if name.startswith("reference"):
            rows.append(_row("bonding motifs", name, "reference MD", "-", f"failed: {message}", "runs", False))
    return rows


def check_rows(result: dict) -> list[dict]:
    """Every pass/fail row of a ``validation-model.json``."""
    settings = result["settings"]
    return (heldout_rows(result["heldout"]) + minimum_rows(result["minimum"], settings)
            + motif_rows(result["motifs"], settings))


def _table(rows: list[dict]) -> list[str]:
    lines = ["| check | system | quantity | model | reference | target | pass |", "|---|---|---|---|---|---|---|"]
    lines += [f"| {r['check']} | {r['system']} | {r['quantity']} | {r['model']} | {r['reference']} | {r['target']} | "
              f"{'pass' if r['passed'] else '**FAIL**'} |" for r in rows]
    return lines


def _heldout_systems(heldout: dict) -> list[str]:
    lines = ["| system | family | atoms | frames | energy RMSE (meV/atom) | mean energy error (meV/atom) | "
             "force RMSE (eV/Å) | virial RMSE (meV/atom) |", "|---|---|---:|---:|---:|---:|---:|---:|"]
    for name, m in heldout["by_system"].items():
        lines.append(f"| {name} | {m['family']} | {m['atoms']} | {m['frames']} | {m['rmse_energy_mev_per_atom']:.2f} | "
                     f"{m['mean_energy_error_mev_per_atom']:+.2f} | {m['rmse_force_ev_per_angstrom']:.3f} | "
                     f"{_fmt(m.get('rmse_virial_mev_per_atom'))} |")
    return lines


def _minimum_details(minimum: dict) -> list[str]:
    lines = ["| crystal | E model - reference at its minimum (meV/atom) | force RMSE there (eV/Å) | "
             "pressure there, model (GPa) | density reference / model (g/cm³) |", "|---|---:|---:|---:|---|"]
    for name, c in minimum["crystals"].items():
        g = c["at_reference_minimum"]
        lines.append(f"| {name} | {g['energy_difference_mev_per_atom']:+.1f} | {g['force_rmse_ev_per_angstrom']:.3f} | "
                     f"{g['pressure_model_gpa']:+.2f} | {c['reference_relaxed']['density_g_cm3']:.3f} / "
                     f"{c['model_relaxed']['density_g_cm3']:.3f} |")
    return lines


_C_INDICES = ((0, 0), (1, 1), (2, 2), (0, 1), (0, 2), (1, 2), (3, 3), (4, 4), (5, 5))


def _elastic_details(minimum: dict) -> list[str]:
    names = ", ".join(f"C{i + 1}{j + 1}" for i, j in _C_INDICES)
    lines = [f"| crystal | potential | {names} (GPa) | B_VRH | G_VRH |", "|---|---|---|---:|---:|"]
    for name, c in minimum["crystals"].items():
        for who, tensor in c.get("elastic", {}).items():
            if "error" in tensor:
                lines.append(f"| {name} | {who} | failed: {tensor['error']} | | |")
                continue
            values = ", ".join(f"{tensor['C_GPa'][i][j]:.0f}" for i, j in _C_INDICES)
            lines.append(f"| {name} | {who} | {values} | {tensor['bulk_modulus_vrh_GPa']:.1f} | "
                         f"{tensor['shear_modulus_vrh_GPa']:.1f} |")
    return lines


def _model_name(model: str) -> str:
    # A model file by its name: the absolute path of one checkout means nothing in a card.
    return Path(model).name if model.endswith(".pb") else model


def markdown(result: dict) -> str:
    """The validation as a Markdown section (``## Independent validation``) for ``docs/model-card.md``."""
    rows = check_rows(result)
    failed = sum(not r["passed"] for r in rows)
    s = result["settings"]
    lines = ["## Independent validation against the reference", "",
             f"`thioglass validate-model` ({result['preset']} preset): model `{_model_name(result['model'])}` (cutoff "
             f"{result['cutoff_angstrom']:g} Å) against `{result['reference']}`, on frames and minima of the "
             "reference's own making, so that a model that has left the reference's basin cannot hide behind its "
             f"own trajectories. **{len(rows) - failed} of {len(rows)} checks pass.**", "",
             "- Held-out frames: NVT MD driven by the reference at "
             f"{', '.join(f'{t:g}' for t in s['heldout_temperatures_k'])} K ({s['reference_md_ps']:g} ps, a frame "
             f"every {s['dump_every_ps']:g} ps) of crystals in cells wider than twice the cutoff and of glasses "
             "(melted from random packing; the lower temperatures start from the melt).",
             f"- Crystals: relaxed by the reference, then scanned over ±{100 * s['eos_volume_range']:g} % volume "
             f"({s['eos_points']} points, positions relaxed, shape kept); P(V) must fall monotonically with no "
             f"slope change between neighbouring intervals above {s['kink_tolerance']} of the mean slope, or above "
             f"{s['reference_kink_factor']:g} times the reference's own where its curve is rougher. Lattice lengths "
             f"within {s['lattice_tolerance_percent']:g} % and density within {s['density_tolerance_percent']:g} % "
             "of the reference's relaxed cell (the library's cell, so Li2S's lengths are those of its 3-atom fcc cell).",
             f"- Motifs: NVT MD of the model ({s['model_md_ps']:g} ps) and of the reference ({s['reference_md_ps']:g} ps) "
             f"from the same supercell; counts (2.6 Å bonds) averaged over the last {100 * s['motif_last_fraction']:g} % "
             f"of each run; a motif is lost below {1 - s['motif_tolerance']:.2f} of the reference's count (a motif the "
             "reference itself does not keep is not held against the model).", ""]
    lines += _table(rows)
    if result["heldout"]["by_system"]:
        lines += ["", "### Held-out frames by system", ""] + _heldout_systems(result["heldout"])
    if result["minimum"]["crystals"]:
        lines += ["", "### Crystals at the reference's minimum", ""] + _minimum_details(result["minimum"])
    if any("elastic" in c for c in result["minimum"]["crystals"].values()):
        lines += ["", "### Static elastic tensors (relaxed by each potential)", ""] + _elastic_details(result["minimum"])
    return "\n".join(lines) + "\n"
