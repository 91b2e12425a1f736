"""The domain map: verdicts on synthetic deviation stats, the map file and its ternary plot, and the pre-check
by which ``thioglass run`` warns before it starts in a region the model does not know."""

from __future__ import annotations

import json
import shutil
from dataclasses import asdict
from pathlib import Path

import numpy as np
import pytest

from thioglass.errors import ThioglassError
from thioglass.mlff.ensemble import deviation_stats
from thioglass.paper.values import GLASSES
from thioglass.workflow.domain_map import build_map, check_against_map, domain_check, read_map, verdict

MODEL = Path(__file__).parent / "data" / "tiny_li3ps4.pb"
RNG = np.random.default_rng(7)


def _stats(n_frames: int = 200, above_low: int = 0, above_high: int = 0) -> dict:
    values = RNG.uniform(0.02, 0.15, n_frames)
    values[:above_low] = 0.3
    values[above_low:above_low + above_high] = 0.6
    return deviation_stats(values)


def test_verdicts_follow_the_trust_window():
    assert verdict({"melt": _stats(), "hold_650": _stats()})[0] == "trusted"
    assert verdict({"melt": _stats(above_low=1), "cool": _stats()})[0] == "trusted"  # 0.5 % above 0.2 eV/Å
    assert verdict({"melt": _stats(above_low=10), "cool": _stats()}) == ("uncertain", "melt")
    assert verdict({"melt": _stats(), "cool": _stats(above_high=1)}) == ("uncertain", "cool")  # one frame above 0.4
    assert verdict({"melt": _stats(above_low=50), "cool": _stats(above_high=5)}) == ("outside", "cool")
    assert verdict({}, failed="atoms 3 and 7 are 0.3 Å apart") == ("outside", None)
    with pytest.raises(ThioglassError, match="needs an ensemble"):
        verdict({})


def _point(label: str, decision: str) -> dict:
    from thioglass.composition import parse_composition

    c = parse_composition(label)
    stats = {"trusted": _stats(), "uncertain": _stats(above_low=20), "outside": _stats(above_high=20)}[decision]
    return {"composition": c.label, "mol_percent": c.mol_percent, "paper_glass": c.label in GLASSES, "n_atoms": 100,
            "formula": "x", "density_300k_g_cm3": 1.9, "stages": {"melt": stats}, "verdict": verdict({"melt": stats})[0],
            "decided_by": "melt", "wall_s": 1.0}


def _synthetic_map(tmp_path: Path, model: Path = MODEL) -> Path:
    """A 20 mol % map (Li2S up to 80 %): Li2S-rich glasses trusted, P2S5- and SiS2-rich ones not."""
    from thioglass.composition import Composition
    from thioglass.workflow.domain import domain_preset

    grid = [Composition(li2s, sis2, 100 - li2s - sis2) for li2s in range(0, 81, 20) for sis2 in range(0, 101 - li2s, 20)]
    points = [_point(c.label, "trusted" if c.li2s >= 60 else "uncertain" if c.li2s >= 40 else "outside")
              for c in grid] + [_point(glass, "trusted" if glass != "50Li2S-50SiS2" else "uncertain") for glass in GLASSES]
    member = tmp_path / "member.pb"
    shutil.copy(MODEL, member)
    path = tmp_path / "domain.json"
    path.write_text(json.dumps(build_map(points, asdict(domain_preset("coarse")), model, (member,), {})))
    return path


def test_the_map_plot_writes_png_and_svg(tmp_path):
    from thioglass.report.domain_plot import write_domain_plot

    domain = read_map(_synthetic_map(tmp_path))
    domain["points"][0].update(verdict="outside", failed="blew up", stages={})
    png, svg = write_domain_plot(domain, tmp_path / "plots" / "domain-map")
    assert png.read_bytes()[:8] == b"\x89PNG\r\n\x1a\n" and png.stat().st_size > 20_000
    assert "<svg" in svg.read_text()[:2000]


def test_pre_check_warns_outside_and_is_silent_inside(tmp_path):
    domain = read_map(_synthetic_map(tmp_path))
    assert check_against_map(domain, "75Li2S-25P2S5") is None  # a mapped point, trusted
    assert check_against_map(domain, "65Li2S-35P2S5") is None  # between trusted points
    outside = check_against_map(domain, "10Li2S-90P2S5")
    assert outside.level == "warning" and "outside region" in outside.text and "20Li2S-80P2S5 outside" in outside.text
    uncertain = check_against_map(domain, "45Li2S-55SiS2")
    assert "uncertain" in uncertain.text and "40Li2S-60SiS2 uncertain" in uncertain.text
    beyond = check_against_map(domain, "95Li2S-5P2S5")  # Li2S above the mapped 80 %
    assert "outside the model's domain map" in beyond.text


def test_pre_check_without_a_map_or_for_another_model(tmp_path, monkeypatch):
    from thioglass.workflow import domain_map

    monkeypatch.setattr(domain_map, "shipped_map_path", lambda: tmp_path / "none.json")
    assert domain_check("75Li2S-25P2S5", None).level == "note"
    assert domain_check("75Li2S-25P2S5", str(MODEL)) is None  # a user's model: the shipped map is not its map
    monkeypatch.setattr(domain_map, "shipped_map_path", lambda: _synthetic_map(tmp_path))  # made for the tiny model
    assert "another model" in domain_check("10Li2S-90P2S5", None).text


def test_run_warns_before_it_starts_in_an_outside_region(tmp_path, monkeypatch, capsys):
    import sys

    from thioglass.cli.main import main
    from thioglass.potential import bundled_model_path
    from thioglass.workflow import domain_map
    from thioglass.workflow import run as run_module

    path = _synthetic_map(tmp_path, model=bundled_model_path())
    monkeypatch.setattr(domain_map, "shipped_map_path", lambda: path)

    def stop(*args, **kwargs):
        raise ThioglassError("stopped before the quench (test)")

    monkeypatch.setattr(run_module, "run_glass", stop)
    for composition, warned in (("10Li2S-90P2S5", True), ("75Li2S-25P2S5", False)):
        monkeypatch.setattr(sys, "argv", ["thioglass", "run", composition, "--preset", "smoke", "-o",
                                          str(tmp_path / composition)])
        with pytest.raises(SystemExit):
            main()
        captured = capsys.readouterr()
        assert "stopped before the quench" in captured.err
        assert ("warning:" in captured.out and "outside region" in captured.out) is warned, captured.out


def test_model_card_section_names_the_members_and_the_counts(tmp_path):
    from thioglass.workflow.domain_map import SHIPPED_MAP_COMMAND, card_section

    section = card_section(_synthetic_map(tmp_path))
    assert section.startswith("## Domain map") and "member.pb" in section and "![domain map](domain-map.png)" in section
    assert "9 trusted, 5 uncertain, 11 outside" in section
    assert SHIPPED_MAP_COMMAND in card_section(tmp_path / "none.json")
