"""'Did you mean ...' hints for unknown names."""

from __future__ import annotations

import difflib
import os
from collections.abc import Iterable
from pathlib import Path


def closest(name: str, choices: Iterable[str]) -> str | None:
    """The valid choice closest to `name`, or None when nothing is close."""
    found = difflib.get_close_matches(name, list(choices), n=1, cutoff=0.5)
    return found[0] if found else None


def did_you_mean(name: str, choices: Iterable[str]) -> str:
    """A sentence fragment suggesting the closest choice, listing all when none is close."""
    choices = sorted(choices)
    best = closest(name, choices)
    if best is not None:
        return f"did you mean '{best}'?"
    return "valid choices: " + ", ".join(choices)


def missing_path(path: str | os.PathLike) -> str:
    """'no such file or folder: PATH', with the nearest existing names when some are close.

    The first component of `path` that does not exist is compared with its existing
    siblings: `runs/quickstart/vqa_pretraind` -> "did you mean runs/quickstart/vqa_pretrained?".
    """
    path = Path(path)
    message = f"no such file or folder: {path}"
    parts = path.parts
    for depth in range(1, len(parts) + 1):
        here = Path(*parts[:depth])
        if here.exists():
            continue
        parent = here.parent
        try:
            siblings = [p.name for p in parent.iterdir() if not p.name.startswith(".")]
        except OSError:
            return message
        near = difflib.get_close_matches(here.name, siblings, n=3, cutoff=0.6)
        if near:
            rest = parts[depth:]
            options = [str(Path(parent, name, *rest)) for name in near]
            return f"{message} (did you mean {' or '.join(options)}?)"
        if siblings and len(siblings) <= 12:
            return f"{message} ({parent} holds: {', '.join(sorted(siblings))})"
        return message
    return message
