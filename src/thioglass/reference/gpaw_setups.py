"""GPAW itself (found under another interpreter) and the PAW datasets the ``gpaw-pbesol`` reference needs.

Debian's ``gpaw-data`` ships LDA, PBE, RPBE, revPBE and GLLBSC datasets but none for PBEsol. GPAW's own
generator makes them in seconds (``gpaw-setup -f PBEsol Li Si P S``; with ``-f PBE`` the same command
reproduces the distributed PBE datasets). They are generated once into a cache folder, under a file lock
so that two Dask workers never generate into it at the same time, and ``generation.json`` beside them
records the command, the GPAW version and each file's SHA-256.
"""

from __future__ import annotations

import hashlib
import json
import os
import shutil
import subprocess
import tempfile
from dataclasses import dataclass
from datetime import datetime, timezone
from functools import lru_cache
from pathlib import Path

from thioglass.errors import ThioglassError

MANIFEST = "generation.json"
INSTALL_HINT = "run `make gpaw` (or `apt-get install gpaw gpaw-data`)"
_PROBE = "import json, gpaw; print(json.dumps([gpaw.__version__, list(gpaw.setup_paths)]))"
_GENERATOR = "import sys; from gpaw.atom.gpaw_setup import main; sys.argv[0] = 'gpaw-setup'; main()"


@dataclass(frozen=True)
class GpawRuntime:
    """The interpreter that imports GPAW, its version, and where it looks for PAW datasets."""

    python: str
    version: str
    setup_paths: tuple[str, ...]


@lru_cache(maxsize=4)
def gpaw_runtime(python: str) -> GpawRuntime:
    """Check once per process that ``python`` imports GPAW; one line saying how to install it if not."""
    try:
        probe = subprocess.run([python, "-I", "-c", _PROBE], capture_output=True, text=True, timeout=120)
    except (OSError, subprocess.TimeoutExpired) as err:
        raise ThioglassError(f"GPAW not found: cannot run {python} ({type(err).__name__}); {INSTALL_HINT}") from None
    if probe.returncode != 0:
        raise ThioglassError(f"GPAW is not installed for {python}; {INSTALL_HINT}")
    version, paths = json.loads(probe.stdout.strip().splitlines()[-1])
    return GpawRuntime(python, version, tuple(paths))


def default_setups_dir(xc: str) -> Path:
    """``$THIOGLASS_GPAW_SETUPS`` if set, else ``~/.cache/thioglass/gpaw-setups-<xc>``."""
    if os.environ.get("THIOGLASS_GPAW_SETUPS"):
        return Path(os.environ["THIOGLASS_GPAW_SETUPS"])
    cache = Path(os.environ.get("XDG_CACHE_HOME", Path.home() / ".cache"))
    return cache / "thioglass" / f"gpaw-setups-{xc.lower()}"


def ensure_setups(runtime: GpawRuntime, xc: str, symbols: set[str], folder: Path) -> Path:
    """Make sure every element has a dataset for ``xc`` (the system's or one generated into ``folder``).

    Returns ``folder``; put it before the system paths in GPAW's search path.
    """
    missing = sorted(s for s in symbols if not _distributed(runtime, s, xc))
    if not missing:
        return folder
    from filelock import FileLock

    try:
        folder.mkdir(parents=True, exist_ok=True)
    except OSError as err:
        raise ThioglassError(f"cannot create the PAW dataset folder {folder} ({err.strerror}); set setups_dir") from None
    with FileLock(str(folder / ".generate.lock")):
        manifest = _read_manifest(folder)
        todo = [s for s in missing if not _valid(folder, manifest, f"{s}.{xc}")]
        if todo:
            _generate(runtime, xc, todo, folder, manifest)
    return folder


def _distributed(runtime: GpawRuntime, symbol: str, xc: str) -> bool:
    names = (f"{symbol}.{xc}", f"{symbol}.{xc}.gz")
    return any((Path(p) / n).is_file() for p in runtime.setup_paths for n in names)


def _read_manifest(folder: Path) -> dict:
    path = folder / MANIFEST
    if not path.is_file():
        return {"datasets": {}}
    try:
        return json.loads(path.read_text())
    except json.JSONDecodeError:
        return {"datasets": {}}  # a corrupt record: regenerate, which rewrites it


def _valid(folder: Path, manifest: dict, name: str) -> bool:
    entry = manifest.get("datasets", {}).get(name)
    path = folder / name
    return entry is not None and path.is_file() and _sha256(path) == entry["sha256"]


def _generate(runtime: GpawRuntime, xc: str, symbols: list[str], folder: Path, manifest: dict) -> None:
    from thioglass.io.atomic import write_json

    command = [runtime.python, "-I", "-c", _GENERATOR, "-f", xc, *symbols]
    with tempfile.TemporaryDirectory(dir=folder, prefix=".generating-") as tmp:
        from thioglass.md.process import run_process  # dies with thioglass, like every external program

        status = run_process(command, cwd=tmp, log_path=Path(tmp) / "gpaw-setup.log")
        made = {s: Path(tmp) / f"{s}.{xc}" for s in symbols}
        if status != 0 or not all(p.is_file() for p in made.values()):
            tail = (Path(tmp) / "gpaw-setup.log").read_text().strip().splitlines()[-1:] or ["no output"]
            raise ThioglassError(f"gpaw-setup -f {xc} {' '.join(symbols)} failed (exit {status}): {tail[0]}")
        for path in made.values():
            shutil.move(str(path), folder / path.name)
            manifest.setdefault("datasets", {})[path.name] = {
                "sha256": _sha256(folder / path.name),
                "command": f"gpaw-setup -f {xc} {' '.join(symbols)}",
                "gpaw_version": runtime.version,
                "python": runtime.python,
                "created": datetime.now(timezone.utc).isoformat(timespec="seconds"),
            }
    write_json(folder / MANIFEST, manifest, indent=1)


def _sha256(path: Path) -> str:
    return hashlib.sha256(path.read_bytes()).hexdigest()
