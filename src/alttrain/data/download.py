"""Finding, downloading and verifying data files, and reading them with clear errors.

Every data file goes through :func:`fetch`: it is looked for in the data root and the configured search paths,
downloaded (when allowed) to a temporary name in the destination folder, verified against the published
checksum and only then renamed to its final name, so a partial or corrupt download is never used. Every fault
is a :class:`~alttrain.errors.UserError` whose message names the file and the fix.
"""

from __future__ import annotations

import gzip
import hashlib
import http.client
import io
import os
import urllib.error
import urllib.request
import zipfile
import zlib
from collections.abc import Callable, Iterable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import numpy as np
import pandas as pd

from alttrain.errors import UserError

CHUNK = 1 << 20


def resources_dir() -> Path:
    """The repository's ``resources/`` folder (vendored small data sets)."""
    beside_package = Path(__file__).resolve().parents[3] / "resources"  # src/alttrain/data/ -> repository
    return beside_package if beside_package.is_dir() else Path.cwd() / "resources"


@dataclass(frozen=True)
class RemoteFile:
    """A file of a data set as its publisher distributes it.

    Attributes:
        name: the official file name (also the name it is saved under).
        urls: mirrors, tried in order.
        md5, sha256: expected checksums of the file's bytes (``None`` where none is published).
        provenance: where the expected checksums come from.
    """

    name: str
    urls: tuple[str, ...] = ()
    md5: str | None = None
    sha256: str | None = None
    provenance: str = ""


def candidate_folders(root: Path, search_paths: Iterable[Path], subdirs: Sequence[str] = ()) -> list[Path]:
    """``root/<subdir>``, ``root``, then the same for every search path (duplicates removed, order kept)."""
    folders: list[Path] = []
    for base in (Path(root), *(Path(p) for p in search_paths)):
        for folder in (*(base / s for s in subdirs), base):
            if folder not in folders:
                folders.append(folder)
    return folders


def locate(names: Sequence[str], folders: Sequence[Path]) -> Path | None:
    """The first existing ``folder/name`` (folders outer, names inner), or ``None``."""
    for folder in folders:
        for name in names:
            if (folder / name).is_file():
                return folder / name
    return None


def digests(path: Path, decompress: bool = False) -> dict[str, str]:
    """md5 and sha256 of a file's bytes (of its gunzipped content when ``decompress``)."""
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    opener = gzip.open if decompress else open
    try:
        with opener(path, "rb") as stream:
            while chunk := stream.read(CHUNK):
                md5.update(chunk)
                sha256.update(chunk)
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise _corrupt(path, err) from err
    return {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def check_digests(found: dict[str, str], remote: RemoteFile, label: str) -> bool:
    """Compare ``found`` with the remote's checksums; a mismatch is a :class:`UserError`.

    Returns:
        Whether any checksum was known (and matched).
    """
    checked = False
    for algorithm in ("sha256", "md5"):
        expected = getattr(remote, algorithm)
        if expected is None:
            continue
        checked = True
        if found[algorithm] != expected.lower():
            raise UserError(
                f"{label}: checksum mismatch for {remote.name}: expected {algorithm} {expected}, got "
                f"{found[algorithm]} (expected value from {remote.provenance or 'the publisher'}). The file "
                "is refused: it is truncated, corrupt or a different version. Delete it and download it again"
                + (f" from {remote.urls[0]}" if remote.urls else "") + "."
            )
    return checked


def verify(path: Path, remote: RemoteFile) -> dict[str, Any]:
    """Verify ``path`` against ``remote``'s checksums; returns provenance facts for ``DataSplits.info``.

    ``path`` may be the official file, or a gzip-compressed copy of it (``<name>.gz``), whose content is
    checked. Any other form (e.g. an uncompressed copy of an official ``.gz``) has no published checksum: it
    is used, and the returned facts say it was not verified.
    """
    if path.name == remote.name:
        found = digests(path)
    elif path.name == remote.name + ".gz":
        found = digests(path, decompress=True)
    else:
        return {"file": str(path), "verified": False, "why": f"no published checksum for {path.name}"}
    checked = check_digests(found, remote, str(path))
    facts: dict[str, Any] = {"file": str(path), "sha256": found["sha256"], "verified": checked}
    if not checked:
        facts["why"] = "no published checksum; the content was checked for the expected format instead"
    return facts


def download(remote: RemoteFile, folder: Path, timeout: float = 60.0) -> Path:
    """Download ``remote`` into ``folder``: to a temporary name, verified, then renamed to ``remote.name``.

    Mirrors are tried in order; a mirror whose file fails the checksum is skipped like an unreachable one.

    Raises:
        UserError: no mirror delivered a verified file; the message lists every URL with its error.
    """
    folder.mkdir(parents=True, exist_ok=True)
    errors = []
    for url in remote.urls:
        partial = folder / f".{remote.name}.part-{os.getpid()}"
        try:
            found = _stream(url, partial, timeout)
            check_digests(found, remote, f"download from {url}")
            os.replace(partial, folder / remote.name)
            return folder / remote.name
        except (OSError, urllib.error.URLError, http.client.HTTPException, UserError, ValueError) as err:
            errors.append(f"{url}: {err}")
        finally:
            partial.unlink(missing_ok=True)
    raise UserError(
        f"could not download {remote.name} (" + "; ".join(errors) + "). If this machine is offline, "
        f"download it elsewhere and put it in {folder} (or in a folder of the config's data.search_paths)."
    )


def _stream(url: str, partial: Path, timeout: float) -> dict[str, str]:
    """Copy ``url`` into ``partial``, hashing on the way; a short read (interrupted transfer) is an error."""
    md5, sha256 = hashlib.md5(usedforsecurity=False), hashlib.sha256()
    received = 0
    request = urllib.request.Request(url, headers={"User-Agent": "alttrain-data"})
    with urllib.request.urlopen(request, timeout=timeout) as response, open(partial, "wb") as out:
        length = response.headers.get("Content-Length")
        while chunk := response.read(CHUNK):
            out.write(chunk)
            md5.update(chunk)
            sha256.update(chunk)
            received += len(chunk)
    if length is not None and received != int(length):
        raise OSError(f"download interrupted after {received} of {length} bytes")
    return {"md5": md5.hexdigest(), "sha256": sha256.hexdigest()}


def fetch(
    remote: RemoteFile, *, dataset: str, root: Path, search_paths: Sequence[Path], subdirs: Sequence[str],
    allow_download: bool = True, check: bool = True, other_names: Sequence[str] = (), offline_hint: str = "",
) -> tuple[Path, dict[str, Any]]:
    """Find ``remote`` locally (or download it into ``root/subdirs[0]``), verify it; return path and facts.

    Args:
        remote: the file.
        dataset: data-set name for messages.
        root, search_paths: where to look (each also with each of ``subdirs``).
        subdirs: the data set's folders below a search folder; downloads go to ``root/subdirs[0]``.
        allow_download: try the remote's URLs when no local copy exists.
        check: verify checksums (off only for hand-made test files).
        other_names: further accepted local names (e.g. ``ETTh2.csv.gz``, an uncompressed IDX file).
        offline_hint: appended to the "not found" message (e.g. the offline substitute).
    """
    folders = candidate_folders(root, search_paths, subdirs)
    path = locate((remote.name, *other_names), folders)
    if path is None:
        if not (allow_download and remote.urls):
            raise missing_file(dataset, (remote.name, *other_names), folders, remote.urls, root / subdirs[0],
                               offline_hint)
        path = download(remote, root / subdirs[0])
    if not check:
        return path, {"file": str(path), "verified": False, "why": "verification off (verify: false)"}
    return path, verify(path, remote)


def missing_file(
    dataset: str, names: Sequence[str], folders: Sequence[Path], urls: Sequence[str], destination: Path,
    hint: str = "",
) -> UserError:
    """The "file not found" error: which file, where it was looked for, and where to get it / put it."""
    where = ", ".join(str(f) for f in folders)
    source = f"Download it from {' or '.join(urls)} and put it in {destination}" if urls else (
        f"Put it in {destination}")
    text = f"{dataset}: {' / '.join(names)} not found (looked in {where}). {source} (or in a folder of the " \
        "config's data.search_paths)."
    if urls:
        text += " Downloading is switched off for this loader (download: false)."
    return UserError(text + (f" {hint}" if hint else ""))


def _corrupt(path: Path, err: Exception) -> UserError:
    return UserError(
        f"{path} is truncated or corrupt ({type(err).__name__}: {err}). The file is refused: delete it and "
        "download (or copy) it again."
    )


def read_bytes(path: Path) -> bytes:
    """The file's content, gunzipped when it ends in ``.gz``; a truncated gzip is a :class:`UserError`."""
    try:
        return gzip.decompress(path.read_bytes()) if path.suffix == ".gz" else path.read_bytes()
    except (EOFError, gzip.BadGzipFile, zlib.error) as err:
        raise _corrupt(path, err) from err


def read_zip_member(path: Path, choose: Callable[[str], bool]) -> tuple[str, bytes]:
    """Name and content of the first member of the zip archive ``path`` for which ``choose(name)`` is true."""
    try:
        with zipfile.ZipFile(path) as archive:
            names = [n for n in archive.namelist() if choose(n)]
            if not names:
                raise UserError(f"{path} holds none of the expected files (has: {archive.namelist()}); it is "
                                "not the expected archive. Delete it and download it again.")
            return names[0], archive.read(names[0])
    except (zipfile.BadZipFile, EOFError, zlib.error) as err:
        raise _corrupt(path, err) from err


def read_csv(
    data: bytes, source: str, columns: Sequence[str], numeric: Sequence[str] = (), **options: Any
) -> pd.DataFrame:
    """Parse CSV bytes; the header must be exactly ``columns`` and no value may be missing.

    Args:
        data: the CSV content.
        source: file name for messages.
        columns: the expected header.
        numeric: columns that must hold numbers (a non-number counts as missing).
        options: passed to :func:`pandas.read_csv`.
    """
    try:
        frame = pd.read_csv(io.BytesIO(data), **options)
    except (pd.errors.ParserError, pd.errors.EmptyDataError, UnicodeDecodeError, ValueError) as err:
        raise UserError(f"{source} is not a readable CSV file ({err}); replace it with the original") from err
    header = [str(c).strip() for c in frame.columns]
    if header != list(columns):
        raise UserError(
            f"{source} has the header {header}, expected {list(columns)}: it is not the expected data file "
            "(or a different version). Replace it with the original file."
        )
    frame.columns = header
    for column in numeric:
        frame[column] = pd.to_numeric(frame[column], errors="coerce")
    check_complete(frame, source)
    return frame


def check_complete(frame: pd.DataFrame, source: str) -> None:
    """A :class:`UserError` listing the first rows with missing (NaN) values, if any."""
    bad = np.flatnonzero(frame.isna().to_numpy().any(axis=1))
    if len(bad):
        rows = ", ".join(str(r) for r in bad[:5]) + (" ..." if len(bad) > 5 else "")
        raise UserError(
            f"{source} has {len(bad)} row(s) with missing or non-numeric values (data rows {rows}, counted "
            "from 0 after the header): the file is damaged or edited. Replace it with the original file."
        )
