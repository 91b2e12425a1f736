"""The anneal that runs on until the density converges (``quench.anneal_max_ps``): stages appended
one at a time, the window moved to the last, a kill during an extension resumed without redoing
anything, and a protocol record that may grow but not change."""

from __future__ import annotations

import json
from pathlib import Path

import numpy as np
import pytest

from thioglass.errors import ThioglassError
from thioglass.io import iter_frames
from thioglass.md.jobs import check_protocol_file
from thioglass.md.protocol import melt_quench, preset
from thioglass.md.quench import DENSITY_SKIP_FRACTION, density_converged, run_quench
from thioglass.workflow.structure import final_window

from test_quench import SOFT


def _settings(**overrides):
    # thermo every 10 steps: 8 samples in the window after the anneal's first fifth (a drift needs 5)
    base = dict(n_atoms=60, replicas=1, melt_k=400, final_k=300, melt_ps=0.03, anneal_ps=0.1,
                cooling_rate_k_per_s=4e15, dump_every_ps=0.02, thermo_every_steps=10)
    return preset("smoke", **(base | overrides))


def _density(folder: Path, mass_g: float) -> float:
    table = np.loadtxt(folder / "thermo.dat", comments="#")
    window = table[:, 0] >= DENSITY_SKIP_FRACTION * table[-1, 0]
    return float(np.mean(mass_g / 6.02214076e23 / (table[window, 6] * 1e-24)))


@pytest.mark.parametrize(("window", "expected"), [
    ({"density_drift_significant": False, "density_drift_g_cm3": 0.004}, True),
    ({"density_drift_significant": False, "density_drift_g_cm3": -0.02}, False),  # noisy but large: not yet
    ({"density_drift_significant": True, "density_drift_g_cm3": 0.003}, False),   # small but certain
    ({"density_drift_significant": None, "density_drift_g_cm3": None}, None),     # too few samples to say
])
def test_converged_needs_an_insignificant_and_small_drift(window, expected):
    assert density_converged(window, 0.01) is expected


def test_max_anneal_counts_whole_extensions():
    assert _settings().max_extensions == 0
    assert _settings(anneal_max_ps=0.3).max_extensions == 2
    assert _settings(anneal_max_ps=0.35).max_extensions == 2
    names = [s.name for s in melt_quench(_settings(anneal_max_ps=0.3), 2).stages]
    assert names == ["melt", "cool", "anneal", "anneal_2", "anneal_3"]
    with pytest.raises(ThioglassError, match="shorter than --anneal-ps"):
        _settings(anneal_max_ps=0.05)
    with pytest.raises(ThioglassError, match="tolerance must be positive"):
        _settings(density_tolerance_g_cm3=0.0)


def test_unconverged_density_appends_anneal_stages_up_to_the_limit_and_resumes(tmp_path):
    # A tolerance no drift meets: the anneal runs to anneal_max_ps and says it did not converge.
    settings = _settings(anneal_max_ps=0.2, density_tolerance_g_cm3=1e-12)
    result = run_quench("75Li2S-25P2S5", settings, SOFT, tmp_path, threads=1)
    replica = tmp_path / "replica_0"
    record = result.replicas[0]
    assert record["anneal_extensions"] == 1 and record["anneal_total_ps"] == pytest.approx(0.2)
    assert record["density_converged"] is False and result.to_json()["density_converged"] is False
    stages = sorted(p.name for p in replica.iterdir() if p.is_dir())
    assert stages == ["00_melt", "01_cool", "02_anneal", "03_anneal_2"]
    assert len(json.loads((replica / "protocol.json").read_text())["stages"]) == 4
    # The window is the last appended stage: density and structure read the same frames.
    from thioglass.io import read_frame

    final = read_frame(replica / "final.extxyz")
    mass = sum({"Li": 6.94, "P": 30.973762, "S": 32.06}[s] for s in final.get_chemical_symbols())
    assert record["density_g_cm3"] == pytest.approx(_density(replica / "03_anneal_2", mass), rel=1e-3)
    trajectory, first_step = final_window(replica, settings)
    assert trajectory.parent.name == "03_anneal_2" and first_step == 20
    # Each extension continues the last: its first frame is where the previous stage ended.
    last_of_1 = list(iter_frames(replica / "02_anneal" / "traj.extxyz"))[-1]
    first_of_2 = next(iter(iter_frames(replica / "03_anneal_2" / "traj.extxyz")))
    assert np.allclose(last_of_1.positions, first_of_2.positions)

    # Killed during the extension: only that stage runs again, and no further one is added.
    for name in ("replica.json", "final.extxyz", "03_anneal_2/done.json", "03_anneal_2/final.extxyz"):
        (replica / name).unlink()
    kept = {p: p.stat().st_mtime_ns for p in replica.glob("0[0-2]_*/done.json")}
    again = run_quench("75Li2S-25P2S5", settings, SOFT, tmp_path, threads=1)
    assert {p: p.stat().st_mtime_ns for p in kept} == kept
    assert again.replicas[0]["anneal_extensions"] == 1 and (replica / "03_anneal_2" / "done.json").exists()
    assert not (replica / "04_anneal_3").exists()


def test_protocol_record_may_grow_but_not_change(tmp_path):
    settings = _settings(anneal_max_ps=0.3)
    check_protocol_file(tmp_path, melt_quench(settings))
    check_protocol_file(tmp_path, melt_quench(settings, 1))  # an appended stage extends the record
    assert len(json.loads((tmp_path / "protocol.json").read_text())["stages"]) == 4
    with pytest.raises(ThioglassError, match="different protocol"):
        check_protocol_file(tmp_path, melt_quench(settings))  # dropping a stage is not a resume
    with pytest.raises(ThioglassError, match="different protocol"):
        check_protocol_file(tmp_path, melt_quench(_settings(anneal_max_ps=0.3, final_k=350), 2))


def test_anneal_stops_at_the_first_converged_window(tmp_path, monkeypatch):
    import thioglass.md.quench as quench

    verdicts = iter([False, True])  # the first window drifts, the next has converged
    monkeypatch.setattr(quench, "density_converged", lambda window, tolerance: next(verdicts))
    result = run_quench("75Li2S-25P2S5", _settings(anneal_max_ps=0.3), SOFT, tmp_path, threads=1)
    assert result.replicas[0]["anneal_extensions"] == 1 and result.replicas[0]["density_converged"] is True
    assert not (tmp_path / "replica_0" / "04_anneal_3").exists()


def test_every_run_until_converged_refuses_a_longest_run_shorter_than_one_stage():
    from thioglass.properties.conductivity import ConductivitySettings
    from thioglass.properties.elastic import ElasticMDSettings

    with pytest.raises(ThioglassError, match=r"longest production \(5 ps\) is shorter than the production"):
        ConductivitySettings((500.0, 600.0), production_ps=10.0, dump_every_ps=0.1, production_max_ps=5.0)
    with pytest.raises(ThioglassError, match=r"longest production \(1 ps\) is shorter than the production"):
        ElasticMDSettings(production_ps=2.0, production_max_ps=1.0)
    assert ElasticMDSettings(production_ps=2.0, production_max_ps=7.0).max_extensions == 2
