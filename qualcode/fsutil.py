"""File-system edges: atomic writes, owner-only secure folders, safe path checks.

Writes go to a temporary file in the destination folder and are renamed into place, so a crash
leaves either the old file or the new one, never half of one. The temporary names start with a
dot; what a killed run leaves of them is removed by the next write of the same file or folder
(two runs writing the same outputs at once are not supported).
"""

from __future__ import annotations

import csv
import io
import os
import re
import shutil
import stat
import tempfile
import zipfile
from contextlib import contextmanager
from pathlib import Path
from typing import Iterable, Iterator, Mapping, Sequence

from .cells import csv_value
from .errors import QualcodeError

ZIP_DATE_TIME = (1980, 1, 1, 0, 0, 0)
ZIP_FILE_MODE = stat.S_IFREG | 0o644
ZIP_UNIX = 3  # ZipInfo.create_system: fixed, as it otherwise depends on the exporting platform
SECURE_DIR_MODE = 0o700
SECURE_FILE_MODE = 0o600
OUTPUT_FILE_MODE = 0o644
# The random part of a name made by tempfile.mkstemp/mkdtemp, to recognise leftovers exactly.
_RANDOM = "[a-z0-9_]{8}"


@contextmanager
def atomic_paths(paths: Sequence[Path], mode: int = OUTPUT_FILE_MODE) -> Iterator[list[Path]]:
    """Yield temporary paths beside ``paths``; rename them onto ``paths`` together once all are written.

    For files that belong together (a table and its spreadsheet twin): a crash while any of them
    is written leaves all the old ones. The renames then run back to back; no file system makes
    several renames one step, so only a kill in the microseconds between two of them could mix.
    """
    paths = [Path(path) for path in paths]
    temps: list[Path] = []
    try:
        for path in paths:
            temps.append(_temporary_beside(path))  # one by one, so the finally removes those made
        yield temps
        for tmp in temps:
            os.chmod(tmp, mode)
        for tmp, path in zip(temps, paths):
            os.replace(tmp, path)
    finally:
        for tmp in temps:
            tmp.unlink(missing_ok=True)


def _temporary_beside(path: Path) -> Path:
    """A new temporary file in ``path``'s folder (a rename is atomic only within one file system),
    after removing the ones a killed run left there for the same name."""
    make_folder(path.parent)
    if path.is_dir():
        raise QualcodeError("is a folder; name a file to write", path)
    for stale in _leftovers(path, rf"\.{_RANDOM}\.tmp"):
        stale.unlink(missing_ok=True)
    fd, name = tempfile.mkstemp(prefix=f".{path.name}.", suffix=".tmp", dir=path.parent)
    os.close(fd)
    return Path(name)


def _leftovers(path: Path, suffix_pattern: str) -> list[Path]:
    """Siblings named ``.NAME`` + ``suffix_pattern``: temporaries of ``path`` that a killed run left."""
    pattern = re.compile(rf"\.{re.escape(path.name)}{suffix_pattern}")
    if not path.parent.is_dir():
        return []
    return sorted(sibling for sibling in path.parent.iterdir() if pattern.fullmatch(sibling.name))


def make_folder(path: Path) -> Path:
    """Create a folder (and its parents); a file standing where a folder must go is a clear error."""
    try:
        Path(path).mkdir(parents=True, exist_ok=True)
    except (FileExistsError, NotADirectoryError):
        raise QualcodeError("is a file, not a folder: name a folder to write into", path) from None
    except OSError as error:
        raise QualcodeError(f"cannot create folder ({error.strerror})", path) from None
    return Path(path)


def write_files(contents: Mapping[Path, bytes], mode: int = OUTPUT_FILE_MODE, lock: Path | None = None) -> None:
    """Write several files as one set (see :func:`atomic_paths`); with ``lock``, holding that output
    folder's lock (see :func:`output_lock`), so a second run at once stops instead of mixing sets."""
    if lock is not None:
        with output_lock(lock):
            return write_files(contents, mode)
    with atomic_paths(list(contents), mode) as temps:
        for tmp, data in zip(temps, contents.values()):
            tmp.write_bytes(data)


def write_bytes(path: Path, data: bytes, mode: int = OUTPUT_FILE_MODE) -> None:
    write_files({Path(path): data}, mode)


def write_text(path: Path, text: str, mode: int = OUTPUT_FILE_MODE) -> None:
    """Write UTF-8 text with LF newlines, atomically."""
    write_bytes(path, text.encode("utf-8"), mode)


def ensure_secure_dir(path: Path) -> Path:
    """Create ``path`` (and parents) and force owner-only permissions on it."""
    path = make_folder(path)
    os.chmod(path, SECURE_DIR_MODE)
    return path


def write_secure_text(path: Path, text: str) -> None:
    """Write a file holding originals: owner-only folder, owner-only file."""
    ensure_secure_dir(Path(path).parent)
    write_text(path, text, SECURE_FILE_MODE)


def is_within(path: Path, folder: Path) -> bool:
    """Whether ``path`` lies in ``folder`` once symlinks are followed (a link cannot smuggle it out)."""
    return Path(path).resolve().is_relative_to(Path(folder).resolve())


def refuse_inside(secret: Path, out: Path, what: str) -> None:
    """Stop when a secret (key, log) and the outputs would share a folder tree, in either direction.

    Any folder named ``outputs`` is refused as a whole, wherever it is and whatever the working
    directory, not only the stage's own subfolder: ``--key ~/study/outputs/secure/key.json`` beside
    ``--out ~/study/outputs/pseudonymised`` would hand the key over with the data.
    """
    secure = Path(secret).parent
    under_outputs = any(folder.name == OUTPUTS_NAME for folder in Path(secret).resolve().parents)
    if is_within(secret, out) or is_within(out, secure) or under_outputs:
        raise QualcodeError(f"refusing to keep the {what} with the outputs ({out}); use a separate secure folder",
                            secret)


OUTPUT_MARKER = ".qualcode-output"
OUTPUTS_NAME = "outputs"  # the conventional folder of everything safe to share


@contextmanager
def output_lock(folder: Path) -> Iterator[None]:
    """Hold an exclusive lock on an output folder while writing into it.

    Two runs into one folder at once would otherwise swap their staged outputs over each other.
    The lock is the operating system's lock on the folder itself (``flock`` on its descriptor): no
    lock file is left behind, and it is released when the process ends, however it ends, so a
    killed run never leaves the folder locked. (Windows has no folder locks; there the check is
    skipped.)
    """
    folder = make_folder(folder)
    try:
        import fcntl
    except ImportError:
        yield
        return
    descriptor = os.open(folder, os.O_RDONLY)
    try:
        try:
            fcntl.flock(descriptor, fcntl.LOCK_EX | fcntl.LOCK_NB)
        except BlockingIOError:
            raise QualcodeError("another qualcode run is writing here; wait for it to finish, or choose another "
                                "output folder", folder) from None
        yield
    finally:
        os.close(descriptor)  # closing releases the lock


@contextmanager
def staged_dir(final: Path) -> Iterator[Path]:
    """Build a whole output folder aside, then swap it in, so readers see old or new, never a mix.

    The folder is owned by qualcode: an existing non-empty folder without qualcode's marker file is
    refused rather than replaced, so a mistyped ``--out`` cannot wipe unrelated files.
    """
    final = Path(final)
    if final.exists() and not final.is_dir():
        raise QualcodeError("is a file, not a folder: name a folder to write into", final)
    with output_lock(final.parent):  # the folder itself is swapped: lock the one that holds it
        yield from _staged_dir(final)


def _staged_dir(final: Path) -> Iterator[Path]:
    _recover_swap(final)
    if final.exists() and any(final.iterdir()) and not (final / OUTPUT_MARKER).exists():
        raise QualcodeError("refusing to replace a folder qualcode did not create; choose an empty --out", final)
    staging = Path(tempfile.mkdtemp(prefix=f".{final.name}.staging-", dir=final.parent))
    try:
        os.chmod(staging, 0o755)
        (staging / OUTPUT_MARKER).touch()
        yield staging
        old = None
        if final.exists():
            old = Path(tempfile.mkdtemp(prefix=f".{final.name}.old-", dir=final.parent))
            os.replace(final, old / final.name)
        os.replace(staging, final)
        if old is not None:
            shutil.rmtree(old)
    finally:
        if staging.exists():
            shutil.rmtree(staging)


def _recover_swap(final: Path) -> None:
    """Clear what a killed :func:`staged_dir` left beside ``final``.

    A kill between the swap's two renames leaves ``final`` missing and the previous outputs in an
    ``.old-`` folder: they are put back. Any other ``.staging-`` or ``.old-`` folder is unfinished
    work, and is removed.
    """
    for leftover in _leftovers(final, rf"\.(?:staging|old)-{_RANDOM}"):
        previous = leftover / final.name
        if leftover.name.startswith(f".{final.name}.old-") and previous.is_dir() and not final.exists():
            os.replace(previous, final)
        shutil.rmtree(leftover, ignore_errors=True)


def check_expanded_size(path: Path, limit_mb: float) -> None:
    """Refuse a zip container (.docx, .xlsx) that would unzip to more than ``limit_mb``, before
    anything is unzipped: a small file that expands to gigabytes (a zip bomb) would take the run's
    memory. The sizes come from the zip's own directory; a member that lies about its size fails
    its checksum when read."""
    try:
        with zipfile.ZipFile(path) as archive:
            expanded = sum(member.file_size for member in archive.infolist())
    except (zipfile.BadZipFile, OSError):
        return  # not a zip: the reader says what is wrong with it
    if expanded > limit_mb * 1e6:
        raise QualcodeError(f"unzips to {expanded / 1e6:,.0f} MB, over the limit of {limit_mb:,.0f} MB "
                            "(raise it with QUALCODE_MAX_EXPANDED_MB)", path)


def deterministic_zip(entries: list[tuple[str, bytes]]) -> bytes:
    """A zip with fixed dates and permissions, so equal entries give equal bytes (.xlsx, .qdpx)."""
    buffer = io.BytesIO()
    with zipfile.ZipFile(buffer, "w") as archive:
        for name, data in entries:
            info = zipfile.ZipInfo(name, ZIP_DATE_TIME)
            info.compress_type = zipfile.ZIP_DEFLATED
            info.create_system = ZIP_UNIX
            info.external_attr = ZIP_FILE_MODE << 16
            archive.writestr(info, data)
    return buffer.getvalue()


def csv_text(header: Sequence[object], rows: Iterable[Sequence[object]]) -> str:
    """A CSV table as qualcode writes every one: LF line ends, the header first, every cell through
    :func:`~qualcode.cells.csv_value` so no cell runs as a formula in a spreadsheet program."""
    buffer = io.StringIO()
    writer = csv.writer(buffer, lineterminator="\n")
    writer.writerow([csv_value(value) for value in header])
    writer.writerows([csv_value(value) for value in row] for row in rows)
    return buffer.getvalue()
