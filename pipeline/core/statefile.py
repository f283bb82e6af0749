"""Small JSON state files in the operator's state dir (feed validators, discovered endpoints,
source check results): read forgivingly, written atomically, merged with what another process
sharing the directory wrote meanwhile.

A missing or corrupt file reads as empty: the state is a cache of what the outlets said, and the
next poll or check rebuilds it.
"""

from __future__ import annotations

import json
import os
import tempfile
from pathlib import Path
from typing import Any


def read_entries(path: Path, under: str | None = None) -> dict[str, dict[str, Any]]:
    """The file's mapping of key -> dict (inside the top-level key ``under`` when given)."""
    try:
        data = json.loads(path.read_text(encoding="utf-8"))
        if under is not None:
            data = data.get(under, {})
    except (OSError, ValueError, AttributeError):
        return {}
    return {k: v for k, v in data.items() if isinstance(v, dict)} if isinstance(data, dict) else {}


def write_entries(path: Path, entries: dict[str, dict[str, Any]], under: str | None = None, *,
                  merge: bool = True) -> dict[str, dict[str, Any]]:
    """Write ``entries`` atomically over what the file holds now (when ``merge``); returns what was
    written. Raises OSError when the directory cannot be written."""
    path.parent.mkdir(parents=True, exist_ok=True)
    out = {**read_entries(path, under), **entries} if merge else dict(entries)
    fd, tmp = tempfile.mkstemp(dir=path.parent, prefix=f".{path.stem}.")
    try:
        with os.fdopen(fd, "w", encoding="utf-8") as f:
            json.dump(out if under is None else {under: out}, f, ensure_ascii=False, indent=1, sort_keys=True)
        os.replace(tmp, path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise
    return out
