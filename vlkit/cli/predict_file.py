"""`vlkit predict TASK --input FILE.jsonl --output OUT.jsonl`: every line through the pipeline.

Relative image paths in a line are read relative to the JSONL file's folder, so a folder of
images with its JSONL moves as one. A line that is not a JSON object, names a missing field or
an unreadable image gets {"line", "error", "field"} in the output (and on stderr) and the
others still run; the output is written atomically when all lines are done.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path

from vlkit.utils.atomic import atomic_write_text
from vlkit.utils.errors import ConfigError


def read_lines(path: Path) -> list[tuple[int, dict | Exception]]:
    """(line number, input dict or the error that line is) of every non-blank line."""
    try:
        text = path.read_text(encoding="utf-8")
    except (OSError, UnicodeDecodeError) as err:
        raise ConfigError(f"--input {path}: cannot read it ({err})") from None
    lines = []
    for number, line in enumerate(text.splitlines(), start=1):
        if not line.strip():
            continue
        try:
            item = json.loads(line)
        except ValueError as err:
            lines.append((number, ValueError(f"not valid JSON ({err})")))
            continue
        if not isinstance(item, dict):
            lines.append((number, ValueError(f"expected a JSON object, got "
                                             f"{type(item).__name__}")))
            continue
        lines.append((number, _anchor_paths(item, path.parent)))
    if not lines:
        raise ConfigError(f"--input {path}: no input lines")
    return lines


def _anchor_paths(item: dict, folder: Path) -> dict:
    """Relative `image` / `images` paths made relative to the JSONL file's folder."""
    def anchored(value):
        return str(folder / value) if isinstance(value, str) and not Path(value).is_absolute() \
            else value
    out = dict(item)
    if "image" in out:
        out["image"] = anchored(out["image"])
    if isinstance(out.get("images"), list):
        out["images"] = [anchored(v) for v in out["images"]]
    return out


def predict_file(pipe, source: Path, out: Path, batch_size: int, progress: bool,
                 options: dict) -> int:
    """Predict every line of `source` into `out`; report bad lines on stderr."""
    lines = read_lines(source)
    good = [(n, item) for n, item in lines if isinstance(item, dict)]
    bar = None
    if progress:
        from tqdm import tqdm

        bar = tqdm(total=len(good), unit="input", desc=f"predict {pipe.task}", file=sys.stderr)
    try:
        results = pipe.run([item for _, item in good], batch_size=batch_size, errors="return",
                           progress=bar.update if bar else None, **options)
    finally:
        if bar is not None:
            bar.close()
    by_line = {n: r for (n, _), r in zip(good, results, strict=True)}
    rows = []
    for number, item in lines:
        result = by_line.get(number) or {"error": str(item), "field": None}
        rows.append({"line": number, **result})
    atomic_write_text(out, "".join(json.dumps(row) + "\n" for row in rows))
    failed = [row for row in rows if "error" in row]
    for row in failed:
        print(f"vlkit predict: {source}:{row['line']}: {row['error']}", file=sys.stderr)
    unknown = sorted({w for row in rows for w in row.get("unknown_words", [])})
    if unknown:
        print(f"vlkit predict: warning: read as [UNK] (not in the model's vocabulary): "
              f"{', '.join(unknown)}", file=sys.stderr)
    print(f"wrote {out}: {len(rows) - len(failed)} of {len(rows)} lines predicted"
          + (f", {len(failed)} failed (see above)" if failed else ""))
    return 0
