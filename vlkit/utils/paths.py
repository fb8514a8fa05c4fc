"""Names read from file contents (splits, ids, image names) that become parts of paths."""

from __future__ import annotations

from vlkit.utils.errors import DataError


def safe_name(name: str, where: str) -> str:
    """`name` if it is one plain path component; DataError naming `where` otherwise.

    A crafted annotation file could otherwise make vlkit write outside its output folder
    (`../x`, `/etc/x`) or into a nested folder (`a/b`).
    """
    if (not isinstance(name, str) or name in ("", ".", "..") or "/" in name or "\\" in name
            or "\0" in name):
        raise DataError(f"{where}: {name!r} cannot be used as a file or folder name (it must "
                        "be one path component: no '/', '\\\\', '..' or absolute path)")
    return name
