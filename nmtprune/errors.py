"""The user-facing error type: the CLI prints a :class:`UserError` as one clear line and exits non-zero.

Each layer defines its own errors (``ConfigError``, ``DataError``, ``CheckpointError``, ...) as
subclasses of :class:`UserError`, so this module sits below all of them and imports none.

Also the two guards every command that writes uses: :func:`check_new_out` (an ``--out`` that already
holds something is refused, never mixed into) and :func:`writing` (a full or read-only disk is a
one-line :class:`OutputError`, not a traceback).
"""

from __future__ import annotations

import errno
import re
from contextlib import contextmanager
from pathlib import Path
from typing import Iterator

from safetensors import SafetensorError

__all__ = ["UserError", "KNOWN_ERRORS", "OutputError", "writing", "check_new_out"]


class UserError(Exception):
    """Bad input, a bad file or a failed run that the user can act on: the message is the whole story."""


class OutputError(RuntimeError, UserError):
    """An output could not be written (full, read-only or forbidden disk); the message names the path."""


KNOWN_ERRORS = (UserError,)

# What the disk, not the program, is to blame for. A missing folder is left alone: the commands create
# theirs, so one missing while writing is a bug and keeps its traceback.
_DISK_FULL = {errno.ENOSPC, errno.EDQUOT, errno.EFBIG, errno.EROFS}
# These are the user's doing only at the output's own path (a folder given for a file, a forbidden
# folder); anywhere else, reading an input say, they are not a failed write.
_AT_OUTPUT = {errno.EACCES, errno.EPERM, errno.EISDIR, errno.ENOTDIR}


def _inside(name, root: Path) -> bool:
    return name is None or Path(name) == root or root in Path(name).parents


@contextmanager
def writing(path: str | Path) -> Iterator[None]:
    """Turn a failed write while the block fills ``path`` (a file, or the folder of a run) into an
    OutputError: ``cannot write <file>: <reason>``.

    A failed ``write()`` carries no file name, so ``path`` stands in for it. A permission error counts
    only for a file under ``path``: the same error from reading an input is not a write. safetensors
    reports the operating system's error inside its own exception text, "(os error N)".
    """
    path = Path(path)
    try:
        yield
    except OSError as exc:
        if exc.errno not in _DISK_FULL and not (exc.errno in _AT_OUTPUT and _inside(exc.filename, path)):
            raise
        raise OutputError(f"cannot write {exc.filename or path}: {exc.strerror}") from exc
    except SafetensorError as exc:
        m = re.search(r"I/O error: (.*) \(os error (\d+)\)", str(exc))
        if m is None or int(m.group(2)) not in _DISK_FULL | _AT_OUTPUT:
            raise
        raise OutputError(f"cannot write {path}: {m.group(1)}") from exc


def check_new_out(out: str | Path, option: str = "--out") -> Path:
    """``out`` as a Path, or FileExistsError when it is a file or a folder that already holds something.

    Writing into a used folder would mix two results, and a checkpoint folder prefers some files to
    others (a stale ``model.safetensors`` wins over a new ``model.sparse.safetensors``).
    """
    out = Path(out)
    if out.exists() and (not out.is_dir() or any(out.iterdir())):
        what = "is a file" if not out.is_dir() else "exists and is not empty"
        raise FileExistsError(f"{out}: {what}; choose another {option}")
    return out
