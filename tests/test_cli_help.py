"""`thioglass --help` is instant: no command module imports numpy, ASE or the package's science at import time."""

import subprocess
import sys

import pytest

from thioglass.cli.main import COMMANDS


@pytest.mark.parametrize("args", [["--help"], *[[name, "--help"] for name in COMMANDS]])
def test_help_imports_nothing_heavy(args):
    code = ("import sys\nfrom thioglass.cli.main import app\ntry:\n    app(%r)\nexcept SystemExit:\n    pass\n"
            "print(sorted(m for m in ('numpy', 'ase', 'scipy', 'thioglass.io', 'deepmd') if m in sys.modules))" % args)
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout
    assert out.strip().splitlines()[-1] == "[]"
