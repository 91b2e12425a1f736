"""Our values beside the paper's and the experiments', with the deviation of each."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from thioglass.paper.values import (ENVIRONMENT_REFERENCES, ENVIRONMENT_SOURCE, TABLE5_SI_JOINT, TABLE5_SOURCE,
                                    Reference, environment_key, references_for)

_SUPERSCRIPT = str.maketrans("0123456789", "⁰¹²³⁴⁵⁶⁷⁸⁹")

#: results key -> (label, unit, section of results.json, key of its uncertainty there).
QUANTITIES: dict[str, tuple[str, str, str | None, str | None]] = {
    "density_g_cm3": ("density", "g/cm³", None, "density_std_g_cm3"),
    "bulk_modulus_vrh_GPa": ("bulk modulus B (VRH)", "GPa", "elastic", "bulk_modulus_vrh_std_GPa"),
    "youngs_modulus_GPa": ("Young's modulus E", "GPa", "elastic", "youngs_modulus_std_GPa"),
    "shear_modulus_vrh_GPa": ("shear modulus G (VRH)", "GPa", "elastic", "shear_modulus_vrh_std_GPa"),
    "poisson_ratio": ("Poisson's ratio ν", "", "elastic", "poisson_ratio_std"),
    "sigma_300K_mS_cm": ("σ(300 K)", "mS/cm", "conductivity", "sigma_300K_std_mS_cm"),
    "activation_energy_eV": ("activation energy Ea", "eV", "conductivity", "activation_energy_std_eV"),
    "D_300K_cm2_s": ("D(300 K), Li", "cm²/s", "conductivity", None),
}


#: Keys of the Li10SiP2S12 lattice (``thioglass validate``).
LATTICE_QUANTITIES = {"a_angstrom": ("a", "Å"), "c_angstrom": ("c", "Å"), "volume_angstrom3": ("unit-cell volume", "Å³")}


def describe(key: str) -> tuple[str, str]:
    """(label, unit) of a results key; ``qn.Si.2`` -> ("Si Q²", "%")."""
    if key in QUANTITIES:
        return QUANTITIES[key][:2]
    if key in LATTICE_QUANTITIES:
        return LATTICE_QUANTITIES[key]
    kind, former, n = key.split(".")
    return f"{former} {'Q' if kind == 'qn' else 'E'}{n.translate(_SUPERSCRIPT)}", "%"


def our_value(results: Mapping[str, Any], key: str) -> tuple[float | None, float | None]:
    """(value, uncertainty) of ``key`` in ``results.json``; None where the stage was skipped or failed."""
    if key in QUANTITIES:
        _, _, section, err = QUANTITIES[key]
        source = results if section is None else (results.get(section) or {})
        spread = _number(source.get(err)) if err and (section is not None or _replicas(results) > 1) else None
        return _number(source.get(key)), spread
    kind, former, n = key.split(".")
    value = (results.get(kind) or {}).get(former, {}).get(n)
    spread = (results.get(f"{kind}_std") or {}).get(former, {}).get(n) if _replicas(results) > 1 else None
    # A former the glass lacks, or a class never seen: 0 % is a measured value, not a missing one.
    if value is None and former in (results.get(kind) or {}):
        value = 0.0
    return _number(value), _number(spread)


def _replicas(results: Mapping[str, Any]) -> int:
    # The spread over replicas of one replica is no uncertainty; leave it out rather than show ± 0.
    return int(results.get("n_replicas") or 1)


def _number(value: Any) -> float | None:
    return float(value) if isinstance(value, (int, float)) and not isinstance(value, bool) else None


def row(key: str, ours: float | None, ours_std: float | None, ref: Reference) -> dict[str, Any]:
    """One comparison row (JSON-ready)."""
    label, unit = describe(key)
    deviation, percent = ref.deviation(ours) if ours is not None else (None, None)
    return {"key": key, "label": label, "unit": unit, "ours": ours, "ours_std": ours_std, "reference": ref.value,
            "low": ref.low, "high": ref.high, "kind": ref.kind, "source": ref.source, "note": ref.note,
            "deviation": deviation, "deviation_percent": percent}


def comparison_rows(composition: str, results: Mapping[str, Any]) -> list[dict[str, Any]]:
    """Every reference value the paper gives for ``composition``, beside ours."""
    rows = []
    for key, refs in references_for(composition).items():
        ours, spread = our_value(results, key)
        rows.extend(row(key, ours, spread, ref) for ref in refs)
    return sorted(rows, key=lambda r: (_order(r["key"]), r["kind"] != "paper"))


def _order(key: str) -> tuple:
    """Scalars in the order of QUANTITIES, then Q^n and E^n by former and n."""
    if key in QUANTITIES:
        return (list(QUANTITIES).index(key),)
    kind, former, n = key.split(".")
    return (len(QUANTITIES), former, kind != "qn", int(n))


def environment_rows(paper_glass: str | None, former: str, environments: list[Mapping]) -> list[dict[str, Any]]:
    """Our local environments of ``former`` with the paper's population (Tables S1/S2) where it has one.

    ``paper_glass`` is the paper's label of the glass (:func:`~thioglass.paper.values.glass_key`).
    Environments the paper lists and we never found are added with 0 %.
    """
    paper = dict(ENVIRONMENT_REFERENCES.get(paper_glass or "", {}).get(former, {}))
    rows = []
    for env in environments:
        key = environment_key(env["n"], env["en"], env["bridged"], env["direct"])
        rows.append({**env, "paper_percent": paper.pop(key, None)})
    for (n, en, bridged, direct), percent in paper.items():
        rows.append({"n": n, "en": en, "bridged": list(bridged), "direct": list(direct), "percent": 0.0,
                     "percent_std": None, "count": 0, "paper_percent": percent})
    return sorted(rows, key=lambda r: (r["n"], r["en"], -r["percent"]))


def joint_rows(paper_glass: str | None, former: str, environments: list[Mapping]) -> list[dict[str, Any]]:
    """Population (%) of each (n, E^n) class of ``former``, with the paper's Table 5 for Si in 50Li2S-50SiS2."""
    ours: dict[tuple[int, int], float] = {}
    for env in environments:
        ours[(env["n"], env["en"])] = ours.get((env["n"], env["en"]), 0.0) + env["percent"]
    paper = TABLE5_SI_JOINT if (paper_glass == "50Li2S-50SiS2" and former == "Si") else {}
    keys = sorted(set(ours) | {k for k, v in paper.items() if v > 0})
    return [{"n": n, "en": en, "percent": ours.get((n, en), 0.0), "paper_percent": paper.get((n, en))}
            for n, en in keys]


SOURCES = {"environments": ENVIRONMENT_SOURCE, "joint": TABLE5_SOURCE}
