"""Every user error is one line, found before any work starts (docs/bad-inputs.md lists the cases)."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path

import pytest
import yaml

DATA = Path(__file__).parent / "data"
MODEL = str(DATA / "tiny_li3ps4.pb")
XYZ = ('1\nLattice="5 0 0 0 5 0 0 0 5" Properties=species:S:1:pos:R:3 pbc="T T T"\n{element} 0 0 0\n')


@pytest.fixture
def files(tmp_path: Path) -> Path:
    (tmp_path / "afile").write_text("x")
    (tmp_path / "notmodel.pb").write_text("this is text, not a frozen graph\n")
    (tmp_path / "empty.extxyz").write_text("")
    (tmp_path / "blank.extxyz").write_text("\n\n")
    (tmp_path / "unknown.extxyz").write_text(XYZ.format(element="Xx"))
    (tmp_path / "li.extxyz").write_text(XYZ.format(element="Li"))
    return tmp_path


# (arguments, a piece of the one-line message); {d} is the test's folder.
CASES = [
    (["build", "75Li2S-25P2S5", "-o", "/proc/b.extxyz", "--atoms", "50"], "cannot write in /proc"),
    (["build", "75Li2S-25P2S5", "-o", "{d}/afile/b.extxyz", "--atoms", "50"], "afile is a file, not a folder"),
    (["build", "75Li2S-25P2S5", "-o", "{d}/b.extxyz", "--atoms", "50", "--seed", "-1"], "--seed -1 is negative"),
    (["build", "75Li2S-25P2S5", "-o", "{d}/b.extxyz", "--atoms", "500000"], "more than the limit of 200,000"),
    (["crystal", "beta-Li3PS4", "--supercell", "1000x1000x1000", "-o", "{d}/c.extxyz"],
     "32,000,000,000 atoms, more than the limit"),
    (["analyze", "{d}/li.extxyz", "--json", "/proc/x/a.json"], "cannot write in /proc"),
    (["analyze", "{d}/li.extxyz", "--json", "{d}/a.json", "--plots", "/proc/p"], "cannot write in /proc"),
    (["analyze", "{d}/li.extxyz", "--json", "{d}"], "is a folder; give a file name"),
    (["analyze", "{d}/empty.extxyz", "--json", "{d}/a.json"], "empty.extxyz' is empty (0 bytes)"),
    (["analyze", "{d}/blank.extxyz", "--json", "{d}/a.json"], "holds no frames (only blank lines)"),
    (["analyze", "{d}/unknown.extxyz", "--json", "{d}/a.json"], "unknown element 'Xx'"),
    (["elastic", "{d}/li.extxyz", "--json", "{d}/afile/e.json"], "afile is a file, not a folder"),
    (["elastic", "{d}/li.extxyz", "--json", "/proc/e.json"], "cannot write in /proc"),
    (["quench", "75Li2S-25P2S5", "--out", "{d}/afile", "--preset", "smoke"], "is an existing file, not a folder"),
    (["quench", "75Li2S-25P2S5", "--out", "/sys/q", "--preset", "smoke"], "cannot write in /sys"),
    (["quench", "75Li2S-25P2S5", "--out", "{d}/q", "--preset", "smoke", "--atoms", "300000"], "limit of 200,000"),
    (["quench", "75Li2S-25P2S5", "--out", "{d}/q", "--preset", "smoke", "-p", "{d}/notmodel.pb"],
     "is not a frozen DeePMD-kit model"),
    (["quench", "75Li2S-25P2S5", "--out", "{d}/q", "--preset", "smoke", "--seed", "0"], "--seed 0 is not allowed for MD"),
    (["run", "75Li2S-25P2S5", "--out", "{d}/afile", "--preset", "smoke"], "is an existing file, not a folder"),
    (["conductivity", "{d}/li.extxyz", "--out", "{d}/afile"], "is an existing file, not a folder"),
    (["conductivity", "{d}/li.extxyz", "-T", "400:300:50", "--out", "{d}/c"], "'400:300:50' counts down; write"),
    (["conductivity", "{d}/li.extxyz", "-T", "300:400:0", "--out", "{d}/c"], "the step must be positive"),
    (["train", "--labels", "{d}/nolabels", "--out", "{d}/t"], "--labels {d}/nolabels does not exist"),
    (["label", "{d}/li.extxyz"], "give --store FOLDER"),
    (["test-model", "--data", "{d}/li.extxyz", "--json", "/proc/t.json"], "cannot write in /proc"),
]


@pytest.mark.parametrize("args, message", CASES, ids=[" ".join(a[:1] + a[-2:]) for a, _ in CASES])
def test_one_line_before_any_work(cli, files, args, message):
    before = sorted(p.name for p in files.iterdir())
    code, err = cli(*[a.format(d=files) for a in args])
    assert code == 2, err
    assert err.startswith("Error: ") and len(err.splitlines()) == 1, err
    assert message.format(d=files) in err, err
    assert sorted(p.name for p in files.iterdir()) == before, "an error left files behind"


def test_label_list_needs_no_store(monkeypatch, capsys):
    from thioglass.cli.main import main

    monkeypatch.setattr(sys, "argv", ["thioglass", "label", "--list"])
    with pytest.raises(SystemExit) as exit_info:
        main()
    assert exit_info.value.code in (0, None) and "sevennet" in capsys.readouterr().out


def test_learn_checks_the_compositions_of_its_config(cli, tmp_path):
    config = yaml.safe_load((Path(__file__).parents[1] / "src/thioglass/data/learn_example.yml").read_text())
    config["initial"]["glasses"][1] = "70Li2S-20P2S5"
    (tmp_path / "bad.yml").write_text(yaml.safe_dump(config))
    code, err = cli("learn", str(tmp_path / "bad.yml"))
    assert code == 2 and "initial.glasses[1] '70Li2S-20P2S5': amounts in '70Li2S-20P2S5' sum to 90" in err
    config["initial"]["glasses"][1] = "70Li2S-30P2S5"
    config["exploration"]["systems"][0] = "glass:75Li2S-25P2S5:9000000"
    (tmp_path / "big.yml").write_text(yaml.safe_dump(config))
    code, err = cli("learn", str(tmp_path / "big.yml"))
    assert code == 2 and "exploration.systems[0]" in err and "limit of 200,000" in err
    assert not (tmp_path / "learn-run").exists()


def test_os_and_value_errors_become_one_line(cli, monkeypatch, tmp_path):
    def fail(*args, **kwargs):
        raise PermissionError(13, "Permission denied", str(tmp_path / "x"))

    monkeypatch.setattr("thioglass.build.glass.build_glass", fail)
    code, err = cli("build", "75Li2S-25P2S5", "-o", str(tmp_path / "b.extxyz"), "--atoms", "50")
    assert code == 2 and err == f"Error: Permission denied: {tmp_path / 'x'} (THIOGLASS_DEBUG=1 shows where)"


def _thioglass(*args: str, **kwargs) -> subprocess.Popen:
    return subprocess.Popen([str(Path(sys.executable).with_name("thioglass")), *args], text=True,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, **kwargs)


def test_ctrl_c_says_how_to_resume(tmp_path):
    # 350 K: at the smoke preset's melt temperature the tiny test model blows up after about 700 steps, so on
    # a loaded machine (a fresh clone beside training jobs) the run ended by itself before the signal came.
    # Open (2026-12-04, fresh clone beside the learning loop, load 5 on 2 cores): at 500 K and at 350 K the
    # signal came once LAMMPS ran, yet LAMMPS went on for 3 min (16 600 steps) until it blew up, and the
    # command reported the blow-up, not the interrupt. Alone it stops in 0.9 s. Cause not found yet.
    process = _thioglass("quench", "75Li2S-25P2S5", "--preset", "smoke", "--melt-ps", "30", "--melt-k", "350",
                         "-p", MODEL, "--out", str(tmp_path / "q"), cwd=tmp_path)
    # The signal must come once MD runs, and a fresh venv's first imports may take minutes under load.
    deadline = time.time() + 400
    while time.time() < deadline and not list(tmp_path.glob("q/replica_0/00_melt/thermo.dat")):
        time.sleep(0.2)
    assert list(tmp_path.glob("q/replica_0/00_melt/thermo.dat")), "the melt never started"
    process.send_signal(2)  # SIGINT, as Ctrl-C sends to the foreground process group's leader
    signalled = time.time()
    _, err = process.communicate(timeout=300)  # beside training jobs the stop took over 60 s once
    print(f"stopped {time.time() - signalled:.1f} s after the signal")
    lines = [line for line in err.splitlines() if line.strip()]
    assert process.returncode == 130, err
    assert lines[-1] == ("thioglass quench stopped (Ctrl-C); rerun the same command to resume: finished work is kept")
    assert "Traceback" not in err


def test_cuda_probe_lines_do_not_reach_the_terminal(tmp_path):
    process = _thioglass("test-model", "--data", str(Path(__file__).parents[1] / "src/thioglass/data/models/"
                                                     "default-test-set.extxyz"), "--model", MODEL,
                         "--json", str(tmp_path / "t.json"), cwd=tmp_path)
    _, err = process.communicate(timeout=300)
    assert process.returncode == 0, err
    assert "implib-gen" not in err and "libcudart" not in err
    assert (tmp_path / "t.json").exists()


def test_a_read_only_folder_is_refused(tmp_path, monkeypatch):
    # Root writes into chmod-555 folders, so a read-only mount is imitated where the probe writes.
    import errno

    from thioglass import checks
    from thioglass.errors import ThioglassError

    def read_only(path, *args, **kwargs):
        raise OSError(errno.EROFS, "Read-only file system", str(path))

    monkeypatch.setattr(checks.os, "open", read_only)
    with pytest.raises(ThioglassError, match=r"cannot write in .*\(Read-only file system\)"):
        checks.check_output_file(tmp_path / "x.json")
    with pytest.raises(ThioglassError, match=r"cannot write in .*\(Read-only file system\)"):
        checks.check_output_dir(tmp_path / "new" / "run")


def test_two_runs_into_one_folder(tmp_path):
    """One is refused in one line naming the other's PID; the other finishes; a rerun finds it all done."""
    args = ("run", "75Li2S-25P2S5", "--preset", "smoke", "--skip", "elastic,conductivity", "-p", MODEL,
            "--out", str(tmp_path / "same"))
    first, second = _thioglass(*args, cwd=tmp_path), _thioglass(*args, cwd=tmp_path)
    outcomes = {p.pid: (p.communicate(timeout=600)[1], p.returncode) for p in (first, second)}
    codes = sorted(code for _, code in outcomes.values())
    assert codes == [0, 2], outcomes
    winner = next(pid for pid, (_, code) in outcomes.items() if code == 0)
    refused = next(err for err, code in outcomes.values() if code == 2)
    lines = [line for line in refused.splitlines() if line.strip() and "implib" not in line]
    assert len(lines) == 1 and f"in use by another thioglass run (PID {winner}," in lines[0], refused
    from thioglass.md.integrity import check_stage_trajectory
    from thioglass.md.protocol import melt_quench, preset

    protocol = melt_quench(preset("smoke"))
    for k, stage in enumerate(protocol.stages):
        check_stage_trajectory(tmp_path / "same" / "quench" / "replica_0" / f"{k:02d}_{stage.name}" / "traj.dump",
                               stage.steps(1.0), stage.dump_every_steps(1.0))
    again = _thioglass(*args, cwd=tmp_path)
    out, err = again.communicate(timeout=300)
    assert again.returncode == 0, err
    assert "quench: done before" in out and "structure: done before" in out


def test_a_busy_store_can_be_exported_but_not_labelled_into(cli, files, tmp_path):
    """A long labelling campaign is committed at milestones: export reads beside the job that holds the store."""
    from ase.io import read

    from thioglass.reference.label import Label, LabelStore, frame_key

    store = tmp_path / "store"
    atoms = read(files / "li.extxyz")
    LabelStore(store).save(frame_key(atoms), atoms, Label(-1.5, atoms.positions * 0, None))
    holder = subprocess.Popen([sys.executable, "-c", (
        "import sys, time\nfrom thioglass.locking import folder_lock\n"
        f"with folder_lock({str(store)!r}, what='label'):\n    print('held', flush=True)\n    time.sleep(60)\n")],
        stdout=subprocess.PIPE, text=True)
    try:
        assert holder.stdout.readline().strip() == "held"
        code, err = cli("label", "--store", str(store), "--export", str(tmp_path / "out.extxyz"))
        assert code in (0, None), err
        assert len(read(tmp_path / "out.extxyz", ":")) == 1
        assert not (store / "summary.json").exists(), "an export must not overwrite the running job's summary"
        code, err = cli("label", str(files / "li.extxyz"), "--store", str(store), "-r", "ase:ase.calculators.emt:EMT")
        assert code == 2 and f"(PID {holder.pid}" in err, err
    finally:
        holder.kill()
        holder.wait()
