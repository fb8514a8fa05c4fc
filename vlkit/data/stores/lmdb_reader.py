"""Read-only, lock-free, fork-safe access to one LMDB environment (UNITER's txt_db / img_db).

UNITER ships its databases as bare `data.mdb` files, often on read-only media and without a
`lock.mdb`. Opening with `lock=False` never creates or touches a lock file; that is safe
because nothing writes to these databases while vlkit reads them.

The environment is opened lazily and re-opened after a fork (an LMDB handle must not be shared
across processes), so a store object can be handed to DataLoader workers as is.
"""

from __future__ import annotations

import os
import struct
from collections.abc import Iterator
from pathlib import Path

from vlkit.utils.errors import DataError


def unpack_msgpack(data: bytes, where: str) -> object:
    """MessagePack -> Python, decoding text as str and msgpack-numpy maps as numpy arrays.

    UNITER packs with msgpack-numpy, whose array maps have binary keys (b"nd", b"type", ...);
    `strict_map_key=False` lets the unpacker accept them.
    """
    import msgpack
    import msgpack_numpy

    try:
        return msgpack.unpackb(data, raw=False, strict_map_key=False,
                               object_hook=msgpack_numpy.decode)
    except Exception as err:  # msgpack raises several unrelated types
        raise DataError(f"{where}: value is not valid MessagePack: {err}") from err


# One environment per database file and process: py-lmdb refuses to open the same
# environment twice in a process, and a child process must not use its parent's handle.
_OPEN: dict[str, tuple[int, object, object]] = {}  # realpath -> (pid, env, txn)


def _read_txn(path: Path):
    """This process's read transaction on the LMDB folder `path`, opened on first use."""
    import lmdb

    key = os.path.realpath(path)
    entry = _OPEN.get(key)
    if entry is not None and entry[0] == os.getpid():
        return entry[2]
    if entry is not None:
        # Inherited through fork(). No lock file is involved (lock=False), so closing the
        # child's copy touches nothing the parent uses; it frees the path for a fresh open.
        entry[2].abort()
        entry[1].close()
    try:
        env = lmdb.open(str(path), readonly=True, lock=False, create=False, subdir=True,
                        readahead=False)
    except lmdb.Error as err:
        raise DataError(f"{path}/data.mdb: cannot open as LMDB: {err} (a database that is "
                        "open in this process must be read through vlkit's stores)") from err
    txn = env.begin(write=False, buffers=False)
    _OPEN[key] = (os.getpid(), env, txn)
    return txn


# LMDB's data.mdb starts with two meta pages (page 0 at offset 0, page 1 at offset psize);
# each is a 16-byte page header then MDB_meta: magic u32, version u32, address u64,
# mapsize u64, two MDB_db records of 48 bytes (the first one's leading u32 is the page
# size), last_pg u64, txnid u64. The newer meta (higher txnid) is the live one.
_META = 16
_MAGIC = 0xBEEFC0DE


def check_data_file(path: Path) -> None:
    """`path` (data.mdb) must be as long as its live meta page says: LMDB maps the file and
    reading a page past the end of a truncated file kills the process with SIGBUS."""
    try:
        size = path.stat().st_size
        with open(path, "rb") as handle:
            head = handle.read(_META + 152)
            metas = [_meta(head, path)]
            handle.seek(metas[0][0])
            metas.append(_meta(handle.read(_META + 152), path))
    except OSError as err:
        raise DataError(f"{path}: cannot read: {err.strerror or err}") from err
    psize, last_pg, _ = max(metas, key=lambda m: m[2])
    need = (last_pg + 1) * psize
    if size < need:
        raise DataError(f"{path}: {size} bytes, but its LMDB meta page says the database "
                        f"uses {need} ({last_pg + 1} pages of {psize}); the file is truncated "
                        "(an interrupted copy?), copy it again")


def _meta(page: bytes, path: Path) -> tuple[int, int, int]:
    """(page size, last page number, txn id) of one meta page."""
    if len(page) < _META + 152 or struct.unpack_from("<I", page, _META)[0] != _MAGIC:
        raise DataError(f"{path}: not an LMDB data file (no meta page); the file is damaged "
                        "or truncated")
    psize = struct.unpack_from("<I", page, _META + 24)[0]
    last_pg, txnid = struct.unpack_from("<QQ", page, _META + 120)
    if psize < 512 or psize & (psize - 1):
        raise DataError(f"{path}: damaged LMDB meta page (page size {psize})")
    return psize, last_pg, txnid


class LmdbReader:
    """Read-only LMDB folder (`path/data.mdb`) with string keys and bytes values.

    Holds only the path: the environment lives in a per-process table, so readers can be
    copied, pickled and forked freely, and several readers of one database share it.
    """

    def __init__(self, path: str | Path):
        self.path = Path(path)
        if not (self.path / "data.mdb").is_file():
            raise DataError(f"{self.path}: expected an LMDB folder holding data.mdb")
        check_data_file(self.path / "data.mdb")

    def get(self, key: str) -> bytes | None:
        """The stored bytes for `key`, or None when absent."""
        return _read_txn(self.path).get(key.encode("utf-8"))

    def keys(self) -> Iterator[str]:
        """Every key in LMDB (bytewise sorted) order."""
        with _read_txn(self.path).cursor() as cursor:
            for key in cursor.iternext(keys=True, values=False):
                yield bytes(key).decode("utf-8")

    def close(self) -> None:
        """Close this process's environment for the path (other readers re-open on use)."""
        entry = _OPEN.pop(os.path.realpath(self.path), None)
        if entry is not None and entry[0] == os.getpid():
            entry[2].abort()
            entry[1].close()
