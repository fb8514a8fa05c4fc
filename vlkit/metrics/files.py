"""Reading the annotation and prediction files that the metric readers take.

Every error is a DataError naming the file (and the line, for line-based files).
"""

from __future__ import annotations

import json
from collections.abc import Iterator
from pathlib import Path
from typing import Any

from vlkit.utils.errors import DataError
from vlkit.utils.suggest import missing_path


def existing_file(path: str | Path, what: str) -> Path:
    """`path` as a Path; DataError "<path>: <what> not found" when it is not a file (with
    near matches when the path does not exist)."""
    path = Path(path)
    if not path.exists():
        raise DataError(f"{what} not found: {missing_path(path)}")
    if not path.is_file():
        raise DataError(f"{path}: {what} not found (a folder, expected a file)")
    return path


def load_json(path: str | Path, what: str) -> Any:
    """The JSON document in the file `path` (`what` names it in the not-found error)."""
    path = existing_file(path, what)
    try:
        return json.loads(path.read_text(encoding="utf-8"))
    except (json.JSONDecodeError, UnicodeDecodeError) as err:
        raise DataError(f"{path}: not valid JSON: {err}") from err


def iter_lines(path: str | Path, what: str) -> Iterator[tuple[int, str]]:
    """(line number from 1, line as read) for each non-blank line of the file `path`."""
    path = existing_file(path, what)
    with open(path, encoding="utf-8") as handle:
        for lineno, line in enumerate(handle, start=1):
            if line.strip():
                yield lineno, line


def iter_json_lines(path: str | Path, what: str) -> Iterator[tuple[int, Any]]:
    """(line number from 1, decoded value) for each non-blank line of a JSON-lines file.

    The value may be any JSON value; callers check that it is the object they expect.
    """
    path = Path(path)
    for lineno, line in iter_lines(path, what):
        try:
            yield lineno, json.loads(line)
        except json.JSONDecodeError as err:
            raise DataError(f"{path}: line {lineno}: not valid JSON: {err}") from err
