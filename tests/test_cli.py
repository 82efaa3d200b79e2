"""The command line (alttrain.cli) on bad input: one clear message, non-zero exit, nothing lost, nothing half-made.

Every case goes through the command line (``alttrain.cli.main``, the code path of ``python -m alttrain``): the
exit status must be 2, stderr one line ``alttrain <command>: error: ...`` containing the expected words, no
traceback, no declared output in the run folder, no temporary file left behind, and every file that existed
before (run folder, data folder) unchanged. The table of cases and messages is in ``docs/reliability.md``.
"""

from __future__ import annotations

import gzip
import hashlib
import http.server
import os
import threading
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path

import pytest
import torch
import yaml

from alttrain import cli
from alttrain.config import RunConfig
from alttrain.errors import UserError

REPO = Path(__file__).resolve().parents[1]
OUTPUTS = ("metrics.csv", "alignment.csv", "summary.json")
ETT_HEADER = "date,HUFL,HULL,MUFL,MULL,LUFL,LULL,OT"


def base_run() -> dict:
    """A valid two-epoch digits run (the cases below break one thing each)."""
    return {
        "paper": "f3", "experiment": "badinput", "run_id": "bp", "seed": 0, "scale": "smoke",
        "dataset": {"name": "digits"}, "model": {"name": "mlp", "hidden": [8]}, "method": {"name": "bp"},
        "optimizer": {"name": "sgd", "lr": 0.1}, "epochs": 2, "batch_size": 256,
        "device": "cpu", "threads": 1,
    }


def ett_csv(rows: int = 4) -> str:
    lines = [ETT_HEADER] + [f"2016-07-01 {h:02d}:00:00,1,2,3,4,5,6,{h}" for h in range(rows)]
    return "\n".join(lines) + "\n"


def ett_run(folder: Path, verify: bool = True) -> dict:
    """A run on ETTh2 that looks only in ``folder`` and never downloads."""
    run = base_run()
    run["dataset"] = {"name": "etth2", "download": False, "verify": verify}
    run["data_root"] = str(folder)
    return run


@dataclass
class Case:
    """One bad input: ``setup(tmp) -> argv`` prepares files and returns the command; ``expect`` are the words
    that must appear in the message."""

    id: str
    what: str
    setup: Callable[[Path], list[str]]
    expect: tuple[str, ...]


def write_run(tmp: Path, run: dict | str) -> list[str]:
    """Write ``run`` (a dict as YAML, or raw text) to ``tmp/run/config.yaml``; the train command for it."""
    folder = tmp / "run"
    folder.mkdir(exist_ok=True)
    text = run if isinstance(run, str) else yaml.safe_dump(run)
    (folder / "config.yaml").write_text(text)
    return ["train", str(folder / "config.yaml"), "--no-progress"]


def changed(**changes) -> Callable[[Path], list[str]]:
    """A setup that writes the base run with some keys replaced (``None`` removes a key)."""

    def setup(tmp: Path) -> list[str]:
        run = base_run()
        for key, value in changes.items():
            if value is None:
                run.pop(key)
            else:
                run[key] = value
        return write_run(tmp, run)

    return setup


def raw_text(text: str) -> Callable[[Path], list[str]]:
    return lambda tmp: write_run(tmp, text)


def missing_config(tmp: Path) -> list[str]:
    return ["train", str(tmp / "run" / "nowhere.yaml"), "--no-progress"]


def python_tag(tmp: Path) -> list[str]:
    marker = tmp / "executed"
    return write_run(tmp, f"paper: !!python/object/apply:os.system ['touch {marker}']\n")


def _checkpoint_for(tmp: Path, run: dict, payload: dict | bytes) -> list[str]:
    argv = write_run(tmp, run)
    scratch = tmp / "run" / ".scratch"
    scratch.mkdir(parents=True)
    if isinstance(payload, bytes):
        (scratch / "checkpoint.pt").write_bytes(payload)
    else:
        torch.save(payload, scratch / "checkpoint.pt")
    return argv


def foreign_checkpoint(tmp: Path) -> list[str]:
    other = RunConfig.from_dict({**base_run(), "seed": 99})
    return _checkpoint_for(tmp, base_run(), {"fingerprint": other.fingerprint(), "model": {}})


def truncated_checkpoint(tmp: Path) -> list[str]:
    cfg = RunConfig.from_dict(base_run())
    import io

    buffer = io.BytesIO()
    torch.save({"fingerprint": cfg.fingerprint(), "model": {"w": torch.ones(1000)}}, buffer)
    return _checkpoint_for(tmp, base_run(), buffer.getvalue()[:300])


class _Exploit:
    """Pickles to a call of os.system: what a hostile checkpoint would carry."""

    def __init__(self, marker: Path) -> None:
        self.marker = marker

    def __reduce__(self):
        return (os.system, (f"touch {self.marker}",))


def hostile_checkpoint(tmp: Path) -> list[str]:
    cfg = RunConfig.from_dict(base_run())
    import io
    import pickle

    buffer = io.BytesIO()
    torch.save({"fingerprint": cfg.fingerprint(), "model": _Exploit(tmp / "executed")}, buffer,
               pickle_module=pickle)
    return _checkpoint_for(tmp, base_run(), buffer.getvalue())


def data_missing(tmp: Path) -> list[str]:
    (tmp / "data").mkdir()
    return write_run(tmp, ett_run(tmp / "data"))


def data_truncated_gzip(tmp: Path) -> list[str]:
    (tmp / "data" / "ett").mkdir(parents=True)
    packed = gzip.compress(ett_csv(200).encode())
    (tmp / "data" / "ett" / "ETTh2.csv.gz").write_bytes(packed[: len(packed) // 2])
    return write_run(tmp, ett_run(tmp / "data"))


def data_checksum(tmp: Path) -> list[str]:
    (tmp / "data" / "ett").mkdir(parents=True)
    (tmp / "data" / "ett" / "ETTh2.csv").write_text(ett_csv())  # right format, not the published bytes
    return write_run(tmp, ett_run(tmp / "data"))


def data_header(tmp: Path) -> list[str]:
    (tmp / "data" / "ett").mkdir(parents=True)
    (tmp / "data" / "ett" / "ETTh2.csv").write_text(ett_csv().replace("HUFL", "HUFX"))
    return write_run(tmp, ett_run(tmp / "data", verify=False))


def data_nan_rows(tmp: Path) -> list[str]:
    (tmp / "data" / "ett").mkdir(parents=True)
    text = ett_csv().splitlines()
    text[2] = text[2].replace(",3,", ",,")  # an empty field in data row 1
    text[3] = text[3].replace(",4,", ",abc,")  # a non-number in data row 2
    (tmp / "data" / "ett" / "ETTh2.csv").write_text("\n".join(text) + "\n")
    return write_run(tmp, ett_run(tmp / "data", verify=False))


def imagenet_layout(tmp: Path) -> list[str]:
    flat = tmp / "data" / "imagenet"
    (flat / "train").mkdir(parents=True)
    (flat / "train" / "n01440764_10026.JPEG").write_bytes(b"not sorted into class folders")
    run = base_run()
    run["dataset"] = {"name": "imagenet", "path": str(flat)}
    return write_run(tmp, run)


def published_malformed(tmp: Path) -> list[str]:
    published = tmp / "published"
    published.mkdir()
    (published / "f3.yaml").write_text("entries:\n  - id: tab1\n    value: [1, 2\n")  # unclosed list
    out = tmp / "run"
    out.mkdir()
    return ["verify", "--scale", "smoke", "--papers", "f3", "--published-dir", str(published),
            "--json", str(out / "report.json"), "--markdown", str(out / "report.md")]


def published_not_mapping(tmp: Path) -> list[str]:
    argv = published_malformed(tmp)
    (tmp / "published" / "f3.yaml").write_text("- just\n- a list\n")
    return argv


CASES = [
    Case("config-missing", "run config file does not exist", missing_config,
         ("nowhere.yaml", "does not exist")),
    Case("config-not-yaml", "run config is not YAML", raw_text("paper: [f3\nseed: 0\n"), ("not valid YAML",)),
    Case("config-not-mapping", "run config is a list", raw_text("- paper\n- seed\n"), ("must be a mapping",)),
    Case("config-python-tag", "YAML that would run a shell command", python_tag,
         ("not valid YAML", "python")),
    Case("unknown-key", "unknown key `epoch` (typo)", changed(epoch=3), ("unknown run-config key", "epoch")),
    Case("missing-key", "no `seed`", changed(seed=None), ("missing required key", "seed")),
    Case("epochs-type", "`epochs: ten`", changed(epochs="ten"), ("epochs must be",)),
    Case("epochs-negative", "`epochs: -1`", changed(epochs=-1), ("epochs must be", "-1")),
    Case("lr-zero", "`optimizer.lr: 0`", changed(optimizer={"name": "sgd", "lr": 0}), ("optimizer.lr",)),
    Case("lr-negative", "`optimizer.lr: -0.1`", changed(optimizer={"name": "sgd", "lr": -0.1}),
         ("optimizer.lr",)),
    Case("lr-type", "`optimizer.lr: fast`", changed(optimizer={"name": "sgd", "lr": "fast"}),
         ("optimizer.lr",)),
    Case("batch-size-zero", "`batch_size: 0`", changed(batch_size=0), ("batch_size",)),
    Case("unknown-loss", "`loss: hinge`", changed(loss="hinge"), ("loss must be one of", "hinge")),
    Case("unknown-method", "`method: {name: magic}`", changed(method={"name": "magic"}),
         ("unknown method", "magic", "bp")),
    Case("unknown-model", "`model: {name: resnet9000}`", changed(model={"name": "resnet9000"}),
         ("unknown model", "resnet9000", "mlp")),
    Case("unknown-dataset", "`dataset: {name: imagenet22k}`", changed(dataset={"name": "imagenet22k"}),
         ("unknown data set", "imagenet22k", "digits")),
    Case("unknown-optimizer", "`optimizer: {name: lion}`", changed(optimizer={"name": "lion", "lr": 0.1}),
         ("unknown optimizer", "lion")),
    Case("unknown-schedule", "`schedule: {name: zigzag}`", changed(schedule={"name": "zigzag"}),
         ("unknown schedule", "zigzag")),
    Case("unknown-method-option", "`method: {name: bp, tangents: 4}`",
         changed(method={"name": "bp", "tangents": 4}), ("method 'bp'", "tangents")),
    Case("unknown-model-option", "`model: {name: mlp, widths: [8]}`",
         changed(model={"name": "mlp", "widths": [8]}), ("model 'mlp'", "widths")),
    Case("k-zero", "forward gradient with `k: 0`", changed(method={"name": "fg", "k": 0}),
         ("method 'fg'", "k must be")),
    Case("early-stopping-monitor", "`early_stopping.monitor: val_bleu`",
         changed(early_stopping={"patience": 2, "monitor": "val_bleu"}), ("val_bleu", "not a metric")),
    Case("checkpoint-other-config", "run folder holds a checkpoint of another config", foreign_checkpoint,
         ("different configuration", "refusing")),
    Case("checkpoint-truncated", "truncated checkpoint", truncated_checkpoint,
         ("cannot read the checkpoint",)),
    Case("checkpoint-hostile", "checkpoint whose pickle would run a command", hostile_checkpoint,
         ("cannot read the checkpoint", "weights")),
    Case("data-missing", "data file absent, downloads off", data_missing, ("ETTh2.csv", "not found")),
    Case("data-truncated-gzip", "truncated ETTh2.csv.gz", data_truncated_gzip, ("truncated or corrupt",)),
    Case("data-checksum", "ETTh2.csv with other bytes", data_checksum, ("checksum mismatch", "ETTh2.csv")),
    Case("data-wrong-header", "CSV header with a wrong column", data_header, ("header", "HUFX")),
    Case("data-nan-rows", "CSV with an empty and a non-numeric value", data_nan_rows,
         ("missing or non-numeric", "2 row(s)")),
    Case("imagenet-layout", "ImageNet folder without class folders", imagenet_layout, ("imagenet", "layout")),
    Case("published-malformed", "published-numbers YAML with a syntax error", published_malformed,
         ("f3.yaml", "YAML")),
    Case("published-not-mapping", "published-numbers file is a list", published_not_mapping, ("f3.yaml",)),
]


def snapshot(folder: Path) -> dict[str, str]:
    """Every file below ``folder`` with the hash of its bytes."""
    return {str(p.relative_to(folder)): hashlib.sha256(p.read_bytes()).hexdigest()
            for p in sorted(folder.rglob("*")) if p.is_file()}


def run_case(case: Case, tmp: Path, capsys) -> tuple[str, int, str]:
    """Set the case up, run its command; returns (command name, exit status, stderr)."""
    argv = case.setup(tmp)
    before = snapshot(tmp)
    capsys.readouterr()
    status = cli.main(argv)
    err = capsys.readouterr().err
    after = snapshot(tmp)
    new = sorted(set(after) - set(before))
    assert not new, f"{case.id}: files were created: {new}"
    assert after == before, f"{case.id}: existing files changed"
    return argv[0], status, err


@pytest.mark.parametrize("case", CASES, ids=[c.id for c in CASES])
def test_bad_input_gives_one_clear_message(case, tmp_path, capsys):
    command, status, err = run_case(case, tmp_path, capsys)
    assert status == 2, f"{case.id}: exit status {status}; stderr: {err}"
    # one message: it starts the output and is the only one (a YAML error may quote the offending line below)
    assert err.startswith(f"alttrain {command}: error: "), err
    assert err.count(": error: ") == 1, f"{case.id}: more than one message: {err}"
    assert "Traceback" not in err
    for words in case.expect:
        assert words.lower() in err.lower(), f"{case.id}: {words!r} missing from: {err}"
    assert not (tmp_path / "executed").exists(), "a file's content was executed"


def test_cuda_requested_without_gpu(tmp_path, capsys):
    if torch.cuda.is_available():
        pytest.skip("this machine has a GPU: device 'cuda' is valid here")
    case = Case("cuda-without-gpu", "`device: cuda` on a CPU-only machine", changed(device="cuda"),
                ("cuda", "no CUDA device"))
    _, status, err = run_case(case, tmp_path, capsys)
    assert status == 2 and "no CUDA device" in err


def test_cases_are_distinct_and_documented():
    assert len({c.id for c in CASES}) == len(CASES) >= 20
    doc = (REPO / "docs" / "reliability.md").read_text()
    undocumented = [c.id for c in CASES if f"`{c.id}`" not in doc]
    assert not undocumented, f"add these cases to docs/reliability.md: {undocumented}"


# ---------------------------------------------------------------- interrupted and corrupt downloads


class _LyingServer(http.server.BaseHTTPRequestHandler):
    """Serves /short (announces 1 MB, sends 1 KB and hangs up) and /wrong (complete, but other bytes)."""

    def do_GET(self):  # noqa: N802 (http.server's name)
        body = b"x" * 1024
        self.send_response(200)
        self.send_header("Content-Length", str(1 << 20 if self.path == "/short" else len(body)))
        self.end_headers()
        self.wfile.write(body)
        self.wfile.flush()
        self.close_connection = True

    def log_message(self, *args):
        pass


@pytest.fixture
def lying_server():
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _LyingServer)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    yield f"http://127.0.0.1:{server.server_address[1]}"
    server.shutdown()
    server.server_close()


@pytest.mark.parametrize("path, words", [("/short", "interrupted"), ("/wrong", "checksum mismatch")])
def test_partial_or_wrong_download_is_never_used(tmp_path, lying_server, path, words):
    download = pytest.importorskip("alttrain.data.download", reason="the data engineer's download module")
    remote = download.RemoteFile("file.bin", (lying_server + path,), sha256="0" * 64)
    with pytest.raises(UserError) as err:
        download.download(remote, tmp_path, timeout=10)
    assert words in str(err.value)
    assert list(tmp_path.iterdir()) == [], "neither the file nor a partial copy may stay"
