"""The domain map of a model: the verdict on each composition, the map file, and the pre-check of a run.

A map (``domain.json``, written by :func:`thioglass.workflow.domain.scan_domain`; the shipped model's
is ``thioglass/data/models/default-domain.json``) holds, for each composition of a grid over the
Li2S-SiS2-P2S5 triangle, the ensemble's force deviation in each MD stage of a short melt-quench and
its verdict (:func:`verdict`):

* ``trusted``: every stage stays inside the learning loop's trust window, the rule by which
  ``thioglass run`` warns about a stage (:func:`thioglass.mlff.ensemble.leaves_window`): at most
  1 % of the frames above 0.2 eV/Å and none above 0.4 eV/Å;
* ``outside``: in some stage more than 1 % of the frames are above 0.4 eV/Å (the loop's "failed"
  frames), or the MD of the composition blew up (``failed`` holds the error);
* ``uncertain``: anything between (more than 1 % above 0.2 eV/Å, or isolated frames above 0.4).

:func:`domain_check` is what ``thioglass run`` asks before it starts: the verdicts of the mapped
compositions nearest to the one asked for, and a warning when any of them is not trusted.
"""

from __future__ import annotations

import hashlib
import json
import math
import time
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from importlib.resources import files
from pathlib import Path
from typing import Any

from thioglass.errors import ThioglassError

VERDICTS = ("trusted", "uncertain", "outside")
#: Share of a stage's frames above the high bound (0.4 eV/Å) beyond which a composition is outside.
OUTSIDE_SHARE_ABOVE_HIGH = 0.01
#: Version of the map file's layout.
MAP_FORMAT = 1
RULE = ("trusted: every stage has at most 1 % of its frames above low_eV_A and none above high_eV_A "
        "(the rule by which thioglass run warns about a stage); outside: some stage has more than 1 % of its "
        "frames above high_eV_A, or the MD failed; uncertain: anything between")


def shipped_map_path() -> Path:
    """Where the shipped model's map lives: ``thioglass/data/models/default-domain.json``."""
    return Path(str(files("thioglass") / "data" / "models" / "default-domain.json"))


def verdict(stages: Mapping[str, Mapping[str, Any]], failed: str | None = None) -> tuple[str, str | None]:
    """(verdict, the stage that decided it) from :func:`~thioglass.mlff.ensemble.deviation_stats` of each stage."""
    from thioglass.mlff.ensemble import leaves_window

    if failed is not None:
        return "outside", None
    if not stages:
        raise ThioglassError("no stage recorded a model deviation; the domain map needs an ensemble")
    outside = [name for name, s in stages.items() if s["share_above_high"] > OUTSIDE_SHARE_ABOVE_HIGH]
    if outside:
        return "outside", _worst(stages, outside)
    uncertain = [name for name, s in stages.items() if leaves_window(s)]
    if uncertain:
        return "uncertain", _worst(stages, uncertain)
    return "trusted", _worst(stages, list(stages))


def _worst(stages: Mapping[str, Mapping[str, Any]], names: list[str]) -> str:
    return max(names, key=lambda name: (stages[name]["share_above_high"], stages[name]["share_above_low"],
                                        stages[name]["p99_eV_A"]))


def model_fingerprint(path: str | Path) -> str:
    """SHA-256 of a model file: a map belongs to exactly one model."""
    digest = hashlib.sha256()
    with open(path, "rb") as handle:
        for block in iter(lambda: handle.read(1 << 20), b""):
            digest.update(block)
    return digest.hexdigest()


def mol_point(composition: str) -> tuple[float, float, float]:
    """(Li2S, SiS2, P2S5) mol % of a composition text."""
    from thioglass.composition import parse_composition

    c = parse_composition(composition)
    return (c.li2s, c.sis2, c.p2s5)


def distance_mol_percent(a: Iterable[float], b: Iterable[float]) -> float:
    """Euclidean distance of two compositions in mol % (one grid step between neighbours is step * sqrt 2)."""
    return math.dist(tuple(a), tuple(b))


def read_map(path: str | Path) -> dict[str, Any]:
    """A map file, checked to be one (one line on anything else)."""
    try:
        data = json.loads(Path(path).read_text())
    except (OSError, ValueError) as err:
        raise ThioglassError(f"cannot read the domain map {path} ({err}); rerun thioglass domain") from None
    if not isinstance(data, dict) or data.get("format") != MAP_FORMAT or not isinstance(data.get("points"), list):
        raise ThioglassError(f"{path} is not a thioglass domain map (format {MAP_FORMAT}); rerun thioglass domain")
    return data


def build_map(points: list[dict], settings: Mapping[str, Any], model: Path, members: tuple[Path, ...],
              skipped: Mapping[str, str]) -> dict[str, Any]:
    """The map file's content (keys in docs/domain-map.md) from the points of a scan and its settings."""
    from thioglass.mlff.ensemble import TRUST_HIGH_EV_A, TRUST_LOW_EV_A, WARN_SHARE_ABOVE_LOW

    counts = {v: sum(p["verdict"] == v for p in points) for v in VERDICTS}
    return {"format": MAP_FORMAT, "date": time.strftime("%Y-%m-%d"),
            "model": {"file": model.name, "sha256": model_fingerprint(model),
                      "ensemble": [{"file": m.name, "sha256": model_fingerprint(m)} for m in members]},
            "settings": dict(settings),
            "thresholds": {"low_eV_A": TRUST_LOW_EV_A, "high_eV_A": TRUST_HIGH_EV_A,
                           "max_share_above_low": WARN_SHARE_ABOVE_LOW,
                           "outside_share_above_high": OUTSIDE_SHARE_ABOVE_HIGH, "rule": RULE},
            "counts": counts, "points": list(points), "skipped": dict(skipped)}


@dataclass(frozen=True)
class DomainCheck:
    """What ``thioglass run`` says before it starts: ``level`` is ``warning`` or ``note``."""

    level: str
    text: str


def nearest_points(domain: Mapping[str, Any], composition: str, count: int = 3) -> list[tuple[float, dict]]:
    """The mapped points nearest to ``composition``, within one grid step: [(distance mol %, point)];
    the point itself alone when it was mapped."""
    target = mol_point(composition)
    ranked = sorted(((distance_mol_percent(target, p["mol_percent"].values()), p) for p in domain["points"]),
                    key=lambda item: item[0])
    if ranked and ranked[0][0] < 0.5:
        return ranked[:1]
    radius = float(domain["settings"]["step_mol_percent"]) * math.sqrt(2) + 1e-6
    return [item for item in ranked[:count] if item[0] <= radius]


def check_against_map(domain: Mapping[str, Any], composition: str) -> DomainCheck | None:
    """A warning when the mapped compositions nearest to ``composition`` are not all trusted; None inside."""
    label = _label(composition)
    near = nearest_points(domain, composition)
    beyond = mol_point(label)[0] > float(domain["settings"]["max_li2s_mol_percent"]) + 0.5
    if beyond or not near:
        closest = min(domain["points"], key=lambda p: distance_mol_percent(mol_point(label), p["mol_percent"].values()))
        return DomainCheck("warning", f"{label} lies outside the model's domain map (the nearest mapped composition, "
                                      f"{closest['composition']}, is {closest['verdict']}); results may be "
                                      "extrapolated")
    if all(point["verdict"] == "trusted" for _, point in near):
        return None
    where = ", ".join(f"{p['composition']} {p['verdict']}" for _, p in near)
    kind = "outside" if any(p["verdict"] == "outside" for _, p in near) else "uncertain"
    window = domain["thresholds"]
    return DomainCheck("warning", f"{label} is in an {kind} region of the model's domain map (nearest mapped: "
                                  f"{where}; trust window {window['low_eV_A']:g}/{window['high_eV_A']:g} eV/Å): "
                                  "its results may be extrapolated; watch the model deviation of each stage")


def domain_check(composition: str, potential: str | None, map_path: str | Path | None = None) -> DomainCheck | None:
    """The pre-check of ``thioglass run``: the shipped map for the shipped model (None for other potentials).

    No map shipped gives a one-line note; a map made for another model file a note too.
    """
    if potential is not None and map_path is None:
        return None
    path = Path(map_path) if map_path is not None else shipped_map_path()
    if not path.is_file():
        return DomainCheck("note", "no domain map ships with this model, so the composition is not checked "
                                   "against one (thioglass domain makes one)")
    domain = read_map(path)
    if potential is None and map_path is None and not _matches_shipped_model(domain):
        return DomainCheck("note", f"the shipped domain map {path.name} was made for another model file, so the "
                                   "composition is not checked against it")
    return check_against_map(domain, composition)


def _matches_shipped_model(domain: Mapping[str, Any]) -> bool:
    from thioglass.potential import bundled_model_path

    model = bundled_model_path()
    return model.is_file() and domain.get("model", {}).get("sha256") == model_fingerprint(model)


def _label(composition: str) -> str:
    from thioglass.composition import parse_composition

    return parse_composition(composition).label


#: The command that makes the shipped map (``docs/domain-map.md`` says how to install its output).
SHIPPED_MAP_COMMAND = "nice -n 5 thioglass domain --preset coarse --threads 1 -o work/domain"


def card_section(path: str | Path | None = None) -> str:
    """The model card's ``## Domain map`` section from the shipped map (or how to make one)."""
    path = Path(path) if path is not None else shipped_map_path()
    lines = ["## Domain map", "",
             "Where in the Li2S-SiS2-P2S5 triangle the model stays inside its ensemble's trust window "
             "(`thioglass domain`; the method, the verdict rule and the file in [domain-map.md](domain-map.md)). "
             "`thioglass run` checks its composition against this map before it starts and warns when the nearest "
             "mapped compositions are not all trusted.", ""]
    if not path.is_file():
        return "\n".join(lines + [f"No map ships yet: make it, once the ensemble ships, with `{SHIPPED_MAP_COMMAND}` "
                                  "(docs/domain-map.md).", ""])
    domain = read_map(path)
    counts = ", ".join(f"{n} {verdict}" for verdict, n in domain["counts"].items())
    members = ", ".join(m["file"] for m in domain["model"]["ensemble"])
    s = domain["settings"]
    return "\n".join(lines + [
        f"{len(domain['points'])} compositions ({s['step_mol_percent']:g} mol % grid up to "
        f"{s['max_li2s_mol_percent']:g} % Li2S and the paper's glasses, {s['n_atoms']} atoms, {s['melt_ps']:g} ps "
        f"at {s['melt_k']:g} K, cooling at {s['cooling_rate_k_per_s']:.2g} K/s, {s['anneal_ps']:g} ps at 300 K and "
        f"{s['hot_ps']:g} ps at {s['hot_k']:g} K): {counts}. Model {domain['model']['file']}, ensemble members "
        f"{members}; made {domain['date']}.", "", "![domain map](domain-map.png)", ""])
