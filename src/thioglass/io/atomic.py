"""Atomic writes: a file is either the old one or the whole new one, never half of it.

Every marker that tells a resumed run what is done (``done.json``, ``record.json``, ...) and every
input a rerun reads back goes through these, so a kill during a write cannot block the resume.
"""

from __future__ import annotations

import json
import os
from pathlib import Path
from typing import Any


def write_bytes(path: Path | str, data: bytes) -> Path:
    """Write bytes atomically; a failed write (a full disk) leaves no partial file behind."""
    path = Path(path)
    path.parent.mkdir(parents=True, exist_ok=True)
    temporary = path.with_name(path.name + ".tmp")
    try:
        temporary.write_bytes(data)
        os.replace(temporary, path)
    except OSError:
        temporary.unlink(missing_ok=True)
        raise
    return path


def write_text(path: Path | str, text: str) -> Path:
    """Write text atomically (a temporary file renamed over ``path``)."""
    return write_bytes(path, text.encode("utf-8"))


def write_json(path: Path | str, data: Any, indent: int | None = 1) -> Path:
    """Write JSON atomically: a half-written file never marks a stage as done."""
    return write_text(path, json.dumps(data, indent=indent, default=str))
