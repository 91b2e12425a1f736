"""The HTML report of ``thioglass run``: self-contained, escaped, every plot showing in a real browser.

The run behind it uses a soft Lennard-Jones pair potential through ASE MD (bookkeeping, not physics)
and its conductivity stage is replaced by random walks of known D(T) = D0 exp(-Ea/kT), so the
report shows an Arrhenius fit whose activation energy is known.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
from pathlib import Path

import numpy as np
import pytest
from ase import Atoms
from ase.calculators.lj import LennardJones

from thioglass.elements import BOLTZMANN_EV_K
from thioglass.report.html import format_number, plus_minus, render_run_report
from thioglass.workflow import run_glass, run_settings

CHROMIUM = shutil.which("chromium") or shutil.which("chromium-browser") or shutil.which("google-chrome")
SETTINGS = ["quench.melt_k=400", "quench.final_k=300", "quench.melt_ps=0.05", "quench.cooling_rate_k_per_s=2e15",
            "quench.anneal_ps=0.1", "quench.tdamp_ps=0.02", "quench.dump_every_ps=0.01",
            "conductivity.temperatures_k=400,500,600,700"]
# Fast enough that every temperature's MSD passes the fit's 4 Å² threshold well inside its 40 ps (issue 17).
EA_EV, D0_A2_PS = 0.15, 50.0


class SoftLJ(LennardJones):
    """A cheap, gentle pair potential for the bookkeeping of the pipeline (not physics)."""

    def __init__(self) -> None:
        super().__init__(sigma=2.0, epsilon=0.01, rc=5.0, smooth=True)


def random_walk(path: Path, temperature_k: float, seed: int, n_li: int = 64, n_frames: int = 400,
                frame_ps: float = 0.1) -> None:
    """Li random walk with D = D0 exp(-Ea/kT) among fixed S, wrapped into a 20 Å cube, 100 MD steps per frame."""
    rng = np.random.default_rng(seed)
    d = D0_A2_PS * np.exp(-EA_EV / (BOLTZMANN_EV_K * temperature_k))
    steps = rng.normal(0.0, np.sqrt(2 * d * frame_ps), (n_frames, n_li, 3))
    steps[0] = 0.0
    li = rng.uniform(0, 20, (n_li, 3)) + np.cumsum(steps, axis=0)
    sulfur = rng.uniform(0, 20, (32, 3))
    frames = []
    for k in range(n_frames):
        atoms = Atoms(["Li"] * n_li + ["S"] * 32, positions=np.vstack([li[k], sulfur]), cell=[20, 20, 20], pbc=True)
        atoms.wrap()
        atoms.info["timestep"] = 100 * k
        frames.append(atoms)
    from ase.io import write

    write(path, frames, format="extxyz")


@pytest.fixture(scope="module")
def report_run(tmp_path_factory) -> Path:
    from thioglass.properties.conductivity import analyse_trajectory, summarise

    out = tmp_path_factory.mktemp("report") / "glass"
    settings = run_settings("smoke", SETTINGS)
    potential = f"ase:{__name__}:SoftLJ"
    # Without its conductivity stage the rotation analysis reads the quench's final window.
    run_glass("75Li2S-25P2S5", settings, potential, out, threads=1, skip=["conductivity"])
    rows = []
    for k, t in enumerate(settings.conductivity.temperatures_k):
        path = out / f"walk_{t:g}K.extxyz"
        random_walk(path, t, seed=k)
        rows.append(analyse_trajectory(path, t, 1.0))
    conductivity = summarise(rows)
    conductivity.update(settings={}, wall_s=0.0)
    (out / "conductivity.json").write_text(json.dumps(conductivity))
    # The stage file exists, so the rerun takes it as done and rebuilds the report with it.
    run_glass("75Li2S-25P2S5", settings, potential, out, threads=1)
    return out


def test_random_walks_give_the_activation_energy_shown_in_the_report(report_run):
    results = json.loads((report_run / "results.json").read_text())
    cond = results["conductivity"]
    assert all(row["included"] for row in cond["temperatures"])
    assert cond["activation_energy_eV"] == pytest.approx(EA_EV, abs=3 * cond["activation_energy_std_eV"] + 0.01)
    html = (report_run / "report.html").read_text()
    shown = f"Ea = <b>{cond['activation_energy_eV']:.3f} ± {cond['activation_energy_std_eV']:.3f} eV</b>"
    assert shown in html
    assert f"{cond['sigma_300K_mS_cm']:.4g} ± " in html


def test_report_is_self_contained_and_has_every_section(report_run):
    html = (report_run / "report.html").read_text()
    for section in ("convergence", "comparison", "density", "structure", "elastic", "conductivity", "rotation",
                    "settings", "run"):
        assert f'id="{section}"' in html
    images = re.findall(r'<img src="([^"]*)"', html)
    assert len(images) == 8 and all(src.startswith("data:image/png;base64,") for src in images)
    assert not re.search(r'(src|href)="(https?:)?//', html) and "@import" not in html and "url(" not in html
    summary = json.loads((report_run / "summary.json").read_text())
    for stage, seconds in summary["timings_s"].items():
        assert f"<td class=\"text\">{stage}</td><td class=\"text\">{seconds}</td>" in html
    assert "numpy" in html and "Kato et al., ACS Appl. Energy Mater." in html  # versions, experiment source


def test_report_escapes_text(report_run):
    results = json.loads((report_run / "results.json").read_text())
    summary = json.loads((report_run / "summary.json").read_text())
    results["composition"] = "<script>alert(1)</script>"
    results["conductivity"]["warnings"] = ["<b>bold</b> & more"]
    html = render_run_report(results, summary, {})
    assert "<script>alert(1)" not in html and "&lt;script&gt;alert(1)&lt;/script&gt;" in html
    assert "&lt;b&gt;bold&lt;/b&gt; &amp; more" in html and "<img" not in html


def test_numbers_are_formatted_for_tables():
    assert format_number(None) == "–" and format_number(float("nan")) == "–" and format_number(3) == "3"
    assert format_number(1.23456) == "1.235" and format_number(1.23456, 1) == "1.2"
    assert plus_minus(1.23456, 0.1, 2) == "1.23 ± 0.10" and plus_minus(2.5, None) == "2.5"


def _chromium(page: Path, profile: Path, *flags: str) -> subprocess.CompletedProcess:
    command = [CHROMIUM, "--headless", "--no-sandbox", "--disable-gpu", "--disable-background-networking",
               "--disable-component-update", "--disable-sync", "--no-first-run", f"--user-data-dir={profile}",
               "--virtual-time-budget=10000", *flags, page.as_uri()]
    return subprocess.run(command, capture_output=True, text=True, timeout=180)


@pytest.mark.skipif(CHROMIUM is None, reason="headless Chromium is not installed (apt-get install chromium); "
                    "the Makefile installs it for CI")
def test_every_plot_loads_in_headless_chromium(report_run, tmp_path):
    from matplotlib.image import imread

    probe = ("<script>window.addEventListener('load', () => { const images = [...document.images];"
             " const loaded = images.filter(i => i.complete && i.naturalWidth > 0).length;"
             " document.body.setAttribute('data-loaded', loaded + '/' + images.length); });</script>")
    page = tmp_path / "probe.html"
    page.write_text((report_run / "report.html").read_text().replace("</body>", probe + "</body>"))
    dom = _chromium(page, tmp_path / "profile", "--dump-dom").stdout
    match = re.search(r'data-loaded="(\d+)/(\d+)"', dom)
    assert match is not None, dom[-2000:]
    assert match[1] == match[2] == str(len(list((report_run / "plots").glob("*.png"))))
    # A broken image is caught by the same probe.
    broken = tmp_path / "broken.html"
    broken.write_text(page.read_text().replace("</body>", '<img src="data:image/png;base64,AAAA"></body>'))
    match = re.search(r'data-loaded="(\d+)/(\d+)"', _chromium(broken, tmp_path / "profile", "--dump-dom").stdout)
    assert match is not None and int(match[1]) == int(match[2]) - 1
    shot = tmp_path / "report.png"
    _chromium(report_run / "report.html", tmp_path / "profile", "--hide-scrollbars", "--window-size=1200,3000",
              f"--screenshot={shot}")
    pixels = imread(shot)
    assert pixels.shape[:2] == (3000, 1200) and pixels[..., :3].std() > 0.05
