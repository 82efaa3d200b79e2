"""``bench --dag-times RUN_DIR``: wall time and slowest jobs of a finished Snakemake run, read from its files.

Reads, from the Snakemake working directory ``RUN_DIR``:

* the Snakemake log (the newest ``.snakemake/log/*.snakemake.log`` that executed jobs, or ``--log``):
  command line (hence the scale), cores, the start/finish stamp of every job, the final "Elapsed time";
* the benchmark files ``results/benchmarks/**/*.tsv`` of the rules that declare ``benchmark:`` (seconds, max
  RSS, CPU time per job).

Targets (2 idle cores, performance issue 16): the whole DAG in at most 90 seconds at ``smoke`` and at most 10
minutes at ``cpu``.
"""

from __future__ import annotations

import csv
import re
from datetime import datetime
from pathlib import Path
from typing import Any

from alttrain.bench.record import OPERATORS

WALL_TARGETS_S = {"smoke": 90.0, "cpu": 600.0}
STAMP = re.compile(r"^\[(\w{3} \w{3} +\d+ \d\d:\d\d:\d\d \d{4})\]$")
RULE = re.compile(r"^(?:local)?(?:rule|checkpoint) (\w+):$")
JOBID = re.compile(r"^jobid: (\d+)$")
FINISHED = re.compile(r"Finished job(?:id)?:? (\d+)")
STEPS = re.compile(r"(\d+) of (\d+) steps \((\d+)%\) done")
ELAPSED = re.compile(r"Elapsed time: (?:(\d+) days?, )?(\d+):(\d\d):(\d\d(?:\.\d+)?)")


def _number(text: str) -> float | None:
    try:
        return float(text)
    except (TypeError, ValueError):
        return None


def read_benchmarks(run_dir: Path) -> list[dict[str, Any]]:
    """One entry per benchmark file: job (path below ``results/benchmarks``), seconds, max RSS, CPU time."""
    root = run_dir / "results" / "benchmarks"
    jobs = []
    for path in sorted(root.rglob("*.tsv")):
        with path.open(newline="") as handle:
            records = list(csv.DictReader(handle, delimiter="\t"))
        seconds = [s for s in (_number(r.get("s")) for r in records) if s is not None]
        if not seconds:
            continue
        last = records[-1]
        jobs.append(
            {
                "job": str(path.relative_to(root).with_suffix("")),
                "s": sum(seconds) / len(seconds),
                "max_rss_mb": _number(last.get("max_rss")),
                "cpu_time_s": _number(last.get("cpu_time")),
            }
        )
    return jobs


def find_log(run_dir: Path) -> Path | None:
    """The newest Snakemake log of ``run_dir`` that executed at least one job."""
    logs = sorted((run_dir / ".snakemake" / "log").glob("*.snakemake.log"), reverse=True)
    for log in logs:
        if STEPS.search(log.read_text(errors="replace")):
            return log
    return logs[0] if logs else None


def parse_log(text: str) -> dict[str, Any]:
    """Command, cores, wall time and per-job (rule, seconds) from a Snakemake log."""
    info: dict[str, Any] = {"command": None, "cores": None, "wall_s": None, "jobs_done": None, "jobs": []}
    jobs: dict[str, dict[str, Any]] = {}
    first = last = now = None
    pending_rule = None
    for raw in text.splitlines():
        line = raw.strip()
        if line.startswith("Command:"):
            info["command"] = line.split(":", 1)[1].strip()
        elif line.startswith("Provided cores:"):
            info["cores"] = int(line.split(":", 1)[1])
        elif match := STAMP.match(line):
            now = datetime.strptime(" ".join(match.group(1).split()), "%a %b %d %H:%M:%S %Y")
            first, last = first or now, now
        elif match := RULE.match(line):
            pending_rule = match.group(1)
        elif (match := JOBID.match(line)) and pending_rule is not None:
            jobs[match.group(1)] = {"rule": pending_rule, "start": now, "end": None}
            pending_rule = None
        elif (match := FINISHED.search(line)) and match.group(1) in jobs:
            jobs[match.group(1)]["end"] = now
        elif match := STEPS.search(line):
            info["jobs_done"] = int(match.group(1))
        elif match := ELAPSED.search(line):
            days, hours, minutes, seconds = match.groups()
            info["wall_s"] = int(days or 0) * 86400 + int(hours) * 3600 + int(minutes) * 60 + float(seconds)
    if info["cores"] is None and (
        match := re.search(r"(?:--cores|-c|--jobs|-j)[= ](\d+|all)\b", info["command"] or "")
    ):
        info["cores"] = match.group(1)  # quiet logs omit "Provided cores"
    if info["wall_s"] is None and first is not None and last is not None:
        info["wall_s"] = (last - first).total_seconds()
    info["jobs"] = [
        {"rule": j["rule"], "s": (j["end"] - j["start"]).total_seconds()}
        for j in jobs.values()
        if j["start"] is not None and j["end"] is not None
    ]
    return info


def scale_of(command: str | None) -> str | None:
    """The ``scale=...`` value of a Snakemake command line, if given there."""
    match = re.search(r"\bscale=([\w-]+)", command or "")
    return match.group(1) if match else None


def dag_times(run_dir: Path, scale: str | None = None, log: Path | None = None, top: int = 10) -> dict[str, Any]:
    """Summary of a finished Snakemake run (see the module docstring)."""
    run_dir = Path(run_dir)
    log = log or find_log(run_dir)
    info = parse_log(log.read_text(errors="replace")) if log is not None and log.exists() else parse_log("")
    scale = scale or scale_of(info["command"]) or "cpu (config default)"
    jobs = read_benchmarks(run_dir)
    per_rule: dict[str, list[float]] = {}
    for job in info["jobs"]:
        per_rule.setdefault(job["rule"], []).append(job["s"])
    result: dict[str, Any] = {
        "run_dir": str(run_dir.resolve()),
        "log": str(log) if log is not None else None,
        "scale": scale,
        "command": info["command"],
        "cores": info["cores"],
        "wall_s": info["wall_s"],
        "jobs_done": info["jobs_done"],
        "benchmarked_jobs": len(jobs),
        "benchmarked_job_s": sum(j["s"] for j in jobs),
        "benchmarked_cpu_s": sum(j["cpu_time_s"] or 0.0 for j in jobs),
        "slowest": sorted(jobs, key=lambda j: -j["s"])[:top],
        "rules_from_log": {
            rule: {"jobs": len(times), "total_s": sum(times), "max_s": max(times)}
            for rule, times in sorted(per_rule.items(), key=lambda kv: -sum(kv[1]))
        },
        "notes": [],
        "targets": [],
    }
    if log is None:
        result["notes"].append(f"no Snakemake log under {run_dir}/.snakemake/log: wall time unknown")
    key = scale.split()[0]
    if key in WALL_TARGETS_S:
        threshold = WALL_TARGETS_S[key]
        value = result["wall_s"]
        result["targets"].append(
            {
                "id": f"dag.{key}.wall",
                "description": f"whole DAG at scale {key}: wall time (2 cores)",
                "value": value,
                "op": "<=",
                "threshold": threshold,
                "unit": "s",
                "met": None if value is None else OPERATORS["<="](value, threshold),
                "note": f"measured with {info['cores']} cores" if info["cores"] else None,
            }
        )
    return result
