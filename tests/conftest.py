"""Shared test helpers."""

from __future__ import annotations

import sys

import pytest


@pytest.fixture
def cli(monkeypatch, capsys):
    """Run ``thioglass ARGS`` as a user does (the real entry point); returns (exit code, stderr)."""
    from thioglass.cli.main import main

    def run(*args: str) -> tuple[int, str]:
        monkeypatch.setattr(sys, "argv", ["thioglass", *args])
        with pytest.raises(SystemExit) as exit_info:
            main()
        return exit_info.value.code, capsys.readouterr().err.strip()

    return run
