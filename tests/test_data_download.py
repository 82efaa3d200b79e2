"""Download, verification and file-reading failures of the data layer (real files, local URLs)."""

from __future__ import annotations

import gzip
import hashlib
import http.server
import threading
import zipfile
from pathlib import Path

import pytest

from alttrain.data.download import (
    RemoteFile,
    download,
    fetch,
    read_bytes,
    read_csv,
    read_zip_member,
    verify,
)
from alttrain.errors import UserError

PAYLOAD = b"a,b\n1,2\n3,4\n" * 1000


def _remote(tmp_path: Path, payload: bytes = PAYLOAD, sha256: str | None = None) -> RemoteFile:
    source = tmp_path / "server" / "data.csv"
    source.parent.mkdir()
    source.write_bytes(payload)
    return RemoteFile("data.csv", (source.as_uri(),), sha256=sha256 or hashlib.sha256(payload).hexdigest())


def test_download_verifies_then_renames(tmp_path):
    remote = _remote(tmp_path)
    path = download(remote, tmp_path / "cache")
    assert path == tmp_path / "cache" / "data.csv"
    assert path.read_bytes() == PAYLOAD
    assert [p.name for p in path.parent.iterdir()] == ["data.csv"]  # no temporary file left behind


def test_download_with_wrong_checksum_is_refused_and_leaves_nothing(tmp_path):
    remote = _remote(tmp_path, sha256="0" * 64)
    with pytest.raises(UserError) as err:
        download(remote, tmp_path / "cache")
    message = str(err.value)
    assert "0" * 64 in message and hashlib.sha256(PAYLOAD).hexdigest() in message
    assert remote.urls[0] in message
    assert list((tmp_path / "cache").iterdir()) == []


def test_second_mirror_is_used_when_the_first_fails(tmp_path):
    remote = _remote(tmp_path)
    urls = ((tmp_path / "nowhere.csv").as_uri(), remote.urls[0])
    mirrors = RemoteFile(remote.name, urls, sha256=remote.sha256)
    assert download(mirrors, tmp_path / "cache").read_bytes() == PAYLOAD


class _Truncating(http.server.BaseHTTPRequestHandler):
    """Promises 100,000 bytes, sends 10, then closes: an interrupted transfer."""

    def do_GET(self):  # noqa: N802 (http.server API)
        self.send_response(200)
        self.send_header("Content-Length", "100000")
        self.end_headers()
        self.wfile.write(b"0123456789")
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


def test_interrupted_download_never_leaves_a_file(tmp_path):
    server = http.server.HTTPServer(("127.0.0.1", 0), _Truncating)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/data.csv"
        with pytest.raises(UserError) as err:
            # the checksum matches the 10 bytes sent: only the short-read check can stop this file
            sent = RemoteFile("data.csv", (url,), sha256=hashlib.sha256(b"0123456789").hexdigest())
            download(sent, tmp_path / "cache", timeout=5)
    finally:
        server.shutdown()
        server.server_close()
    assert url in str(err.value) and ("IncompleteRead" in str(err.value) or "interrupted" in str(err.value))
    assert list((tmp_path / "cache").iterdir()) == []


def test_missing_file_without_download_names_file_folders_and_url(tmp_path):
    remote = RemoteFile("thing.csv", ("https://example.org/thing.csv",), sha256="0" * 64)
    with pytest.raises(UserError) as err:
        fetch(remote, dataset="thing", root=tmp_path / "root", search_paths=(tmp_path / "extra",),
              subdirs=("thing",), allow_download=False)
    message = str(err.value)
    for part in ("thing.csv", str(tmp_path / "root" / "thing"), str(tmp_path / "extra"),
                 "https://example.org/thing.csv", "download: false"):
        assert part in message


def test_unreachable_url_is_reported_with_where_to_put_the_file(tmp_path):
    remote = RemoteFile("thing.csv", ((tmp_path / "absent.csv").as_uri(),))
    with pytest.raises(UserError) as err:
        fetch(remote, dataset="thing", root=tmp_path / "root", search_paths=(), subdirs=("thing",))
    assert str(tmp_path / "absent.csv") in str(err.value)
    assert str(tmp_path / "root" / "thing") in str(err.value)


def test_local_file_is_found_in_a_search_path_and_verified(tmp_path):
    (tmp_path / "extra").mkdir()
    (tmp_path / "extra" / "data.csv.gz").write_bytes(gzip.compress(PAYLOAD))
    remote = RemoteFile("data.csv", sha256=hashlib.sha256(PAYLOAD).hexdigest())
    path, facts = fetch(remote, dataset="d", root=tmp_path / "root", search_paths=(tmp_path / "extra",),
                        subdirs=("d",), allow_download=False, other_names=("data.csv.gz",))
    assert path == tmp_path / "extra" / "data.csv.gz" and facts["verified"] is True


def test_corrupt_local_copy_is_refused_with_expected_and_actual_md5(tmp_path):
    (tmp_path / "data.csv").write_bytes(PAYLOAD[:-1])
    good_md5 = hashlib.md5(PAYLOAD).hexdigest()
    with pytest.raises(UserError) as err:
        verify(tmp_path / "data.csv", RemoteFile("data.csv", md5=good_md5))
    assert good_md5 in str(err.value) and hashlib.md5(PAYLOAD[:-1]).hexdigest() in str(err.value)


def test_truncated_gzip_is_a_clear_error(tmp_path):
    path = tmp_path / "x.csv.gz"
    path.write_bytes(gzip.compress(PAYLOAD)[:-30])
    with pytest.raises(UserError, match="truncated or corrupt") as err:
        read_bytes(path)
    assert str(path) in str(err.value)


def test_truncated_zip_is_a_clear_error(tmp_path):
    path = tmp_path / "x.zip"
    with zipfile.ZipFile(path, "w", compression=zipfile.ZIP_DEFLATED) as archive:
        archive.writestr("inner/data.csv", PAYLOAD)
    assert read_zip_member(path, lambda n: n.endswith("data.csv")) == ("inner/data.csv", PAYLOAD)
    path.write_bytes(path.read_bytes()[: len(path.read_bytes()) // 2])
    with pytest.raises(UserError, match="truncated or corrupt") as err:
        read_zip_member(path, lambda n: n.endswith("data.csv"))
    assert str(path) in str(err.value)


def test_csv_with_a_wrong_header_names_both_headers():
    with pytest.raises(UserError) as err:
        read_csv(b"a,c\n1,2\n", "f.csv", ["a", "b"])
    assert "f.csv" in str(err.value) and "['a', 'c']" in str(err.value) and "['a', 'b']" in str(err.value)


def test_csv_with_missing_or_non_numeric_values_names_the_rows():
    data = b"a,b\n1,2\n3,\n5,6\n7,x\n"
    with pytest.raises(UserError) as err:
        read_csv(data, "f.csv", ["a", "b"], numeric=["a", "b"])
    assert "2 row(s)" in str(err.value) and "rows 1, 3" in str(err.value)
    assert read_csv(b"a,b\n1,2\n", "f.csv", ["a", "b"], numeric=["a", "b"]).shape == (1, 2)
