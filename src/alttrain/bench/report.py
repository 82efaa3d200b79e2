"""Render the benchmark results (the dict written to ``bench.json``) as a Markdown page (``bench.md``)."""

from __future__ import annotations

from typing import Any


def fmt_seconds(value: float | None) -> str:
    """Time with a unit that keeps 3 significant digits (``412 us``, ``3.21 ms``, ``1.50 s``, ``2.5 min``)."""
    if value is None:
        return "-"
    if value >= 120:
        return f"{value / 60:.1f} min"
    for scale, unit in ((1.0, "s"), (1e-3, "ms"), (1e-6, "us")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value / 1e-9:.3g} ns"


def fmt_bytes(value: int | None) -> str:
    """Bytes as KiB / MiB / GiB."""
    if value is None:
        return "-"
    for scale, unit in ((2**30, "GiB"), (2**20, "MiB"), (2**10, "KiB")):
        if value >= scale:
            return f"{value / scale:.3g} {unit}"
    return f"{value} B"


def fmt_number(value: float | None, digits: int = 3) -> str:
    """A plain number with ``digits`` significant digits (thousands separated)."""
    if value is None:
        return "-"
    if abs(value) >= 10**digits:
        return f"{value:,.0f}"
    return f"{value:.{digits}g}"


def fmt_ratio(value: float | None) -> str:
    """A ratio: two decimals, or three significant digits below 0.1."""
    if value is None:
        return "-"
    return f"{value:.2f}x" if value >= 0.1 else f"{value:.3g}x"


def fmt_value(value: float | None, unit: str) -> str:
    """A target's value with its unit."""
    if value is None:
        return "not measured"
    if unit == "x":
        return fmt_ratio(value)
    if unit == "s":
        return fmt_seconds(value)
    if unit == "%":
        return f"{value:.2f} %" if abs(value) >= 0.1 or value == 0 else f"{value:.2g} %"
    return f"{fmt_number(value)} {unit}"


def _table(header: list[str], rows: list[list[str]]) -> list[str]:
    lines = ["| " + " | ".join(header) + " |", "|" + "|".join("---" for _ in header) + "|"]
    lines += ["| " + " | ".join(cell.replace("|", "/") for cell in row) + " |" for row in rows]
    return lines


def ordered_cases(results: dict[str, Any], order: list[str] | tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """The cases in the suite's ``order`` (the JSON is written with sorted keys), unknown ones last."""
    cases = results.get("cases", {})
    return [cases[n] for n in sorted(cases, key=lambda n: order.index(n) if n in order else len(order))]


def all_targets(results: dict[str, Any], order: list[str] | tuple[str, ...] = ()) -> list[dict[str, Any]]:
    """Every target of every case and of the DAG section, in report order."""
    targets = [t for case in ordered_cases(results, order) for t in case.get("targets", [])]
    targets += [t for dag in results.get("dag", {}).values() for t in dag.get("targets", [])]
    return targets


def targets_table(results: dict[str, Any], order: list[str] | tuple[str, ...] = ()) -> list[str]:
    """The summary table of targets: measured value, requirement, met."""
    rows = []
    for t in all_targets(results, order):
        met = {True: "yes", False: "**no**", None: "n/a"}[t["met"]]
        required = f"{t['op']} {fmt_value(t['threshold'], t['unit'])}"
        rows.append([t["description"], fmt_value(t["value"], t["unit"]), required, met])
    return _table(["target", "measured", "required", "met"], rows) if rows else ["(no targets measured)"]


def case_section(case: dict[str, Any]) -> list[str]:
    """One case: sizes, the measurement table, notes and errors."""
    lines = [f"## {case['title']} (`{case['name']}`: {case['status']})", ""]
    if case.get("seconds") is not None:
        lines += [
            f"Measured {case.get('measured_at', '?')} in {fmt_seconds(case['seconds'])} wall, "
            f"{fmt_seconds(case.get('cpu_seconds'))} CPU.",
            "",
        ]
    if case.get("sizes"):
        lines += ["Sizes: " + "; ".join(f"{k} = {v}" for k, v in case["sizes"].items()), ""]
    if case.get("rows"):
        rows = []
        for r in case["rows"]:
            ratio = fmt_ratio(r.get("ratio"))
            if r.get("cpu_ratio") is not None:
                ratio += f" / {fmt_ratio(r['cpu_ratio'])}"
            vs = r["baseline"].split(": ", 1)[-1] if r.get("baseline") else "-"
            throughput = "-"
            if r.get("throughput") is not None:
                throughput = f"{fmt_number(r['throughput'])} {r['throughput_unit']}"
                if r.get("throughput_per_cpu_s"):
                    throughput += f" ({fmt_number(r['throughput_per_cpu_s'])} per CPU-s)"
            rate = fmt_number(r.get("gflop_per_s"))
            if r.get("flops") and r.get("cpu_median_s"):
                rate += f" ({fmt_number(r['flops'] / r['cpu_median_s'] / 1e9)})"
            rows.append(
                [
                    r["name"],
                    fmt_seconds(r["median_s"]),
                    fmt_seconds(r.get("cpu_median_s")),
                    ratio,
                    vs,
                    fmt_bytes(r.get("peak_mem_bytes")),
                    fmt_number(r.get("flops_per_forward")),
                    rate,
                    throughput,
                ]
            )
        lines += _table(
            [
                "measurement",
                "median",
                "CPU",
                "ratio wall / CPU",
                "vs",
                "peak mem",
                "FLOPs / fwd",
                "GFLOP/s (per CPU-s)",
                "throughput",
            ],
            rows,
        )
        lines.append("")
    for note in case.get("notes", []):
        lines.append(f"- {note}")
    for err in case.get("errors", []):
        lines.append(f"- error in {err['what']}: `{err['error']}`")
    if case.get("notes") or case.get("errors"):
        lines.append("")
    return lines


def dag_section(dag: dict[str, dict[str, Any]]) -> list[str]:
    """Whole-DAG wall times per scale and the slowest jobs."""
    lines = ["## Whole DAG (`--dag-times`)", ""]
    rows = []
    for scale, d in sorted(dag.items()):
        rows.append(
            [
                scale,
                fmt_seconds(d.get("wall_s")),
                str(d.get("cores", "-")),
                str(d.get("jobs_done", "-")),
                str(d.get("benchmarked_jobs", "-")),
                fmt_seconds(d.get("benchmarked_job_s")),
                fmt_seconds(d.get("benchmarked_cpu_s")),
                str(d.get("log", "-")),
            ]
        )
    lines += _table(
        ["scale", "wall", "cores", "jobs", "benchmarked jobs", "sum of job times", "sum of job CPU", "log"],
        rows,
    )
    for scale, d in sorted(dag.items()):
        if d.get("slowest"):
            lines += ["", f"Slowest jobs at scale `{scale}`:", ""]
            lines += _table(
                ["job", "time", "max RSS", "CPU time"],
                [
                    [
                        j["job"],
                        fmt_seconds(j["s"]),
                        fmt_number(j.get("max_rss_mb")) + " MB",
                        fmt_seconds(j.get("cpu_time_s")),
                    ]
                    for j in d["slowest"]
                ],
            )
        for note in d.get("notes", []):
            lines.append(f"- {note}")
    return lines + [""]


def render_markdown(results: dict[str, Any], order: list[str] | tuple[str, ...] = ()) -> str:
    """The whole ``bench.md`` page."""
    env = results.get("environment", {})
    machine, versions, device = env.get("machine", {}), env.get("versions", {}), env.get("device", {})
    settings = results.get("settings", {})
    lines = ["# Benchmark results", ""]
    lines.append(
        f"Created {results.get('created', '?')} by `python -m alttrain bench` "
        f"({'tiny sizes' if settings.get('tiny') else 'full sizes'}, median of {settings.get('repeats')} "
        f"interleaved rounds after {settings.get('warmup')} warm-up calls); git `{env.get('git')}`."
    )
    lines.append("")
    lines.append(
        f"- Machine: {machine.get('cpu')}, {machine.get('cpus_available')} CPUs available, "
        f"{machine.get('memory_gib')} GiB; {machine.get('platform')}"
    )
    lines.append(
        f"- Device: {device.get('type')} ({device.get('name')}), {device.get('torch_threads')} torch thread(s)"
    )
    lines.append("- Versions: " + ", ".join(f"{k} {v}" for k, v in versions.items() if v))
    matmul = env.get("matmul")
    if matmul:
        per_cpu = f" ({fmt_number(matmul['gflop_per_cpu_s'])} per CPU-s)" if matmul.get("gflop_per_cpu_s") else ""
        lines.append(
            f"- Compute bound, as achieved by a {matmul['size']}^3 float32 matrix product on this device: "
            f"{fmt_number(matmul['gflop_per_s'])} GFLOP/s{per_cpu}"
        )
    lines.append(
        "- Ratios are medians of interleaved timings in this one run; on a CPU only ratios are meaningful, "
        "absolute times count on a GPU. CPU = process CPU time per call: with one thread on a shared machine "
        "it estimates the time on a core of its own, and targets on one-thread CPU work are judged on it. "
        "Peak memory: extra memory one call needs (CPU: resident set; CUDA: allocated tensors). "
        "FLOPs: `FlopCounterMode` (matmul/conv/attention only)."
    )
    lines += ["", "## Targets", ""] + targets_table(results, order) + [""]
    for case in ordered_cases(results, order):
        lines += case_section(case)
    if results.get("dag"):
        lines += dag_section(results["dag"])
    return "\n".join(lines).rstrip() + "\n"


README_START, README_END = "<!-- bench-targets:start -->", "<!-- bench-targets:end -->"


def readme_block(results: dict[str, Any], order: list[str] | tuple[str, ...] = ()) -> str:
    """The README's performance targets: when, where and at which commit the last run measured them, and the table."""
    env = results.get("environment", {})
    machine, device = env.get("machine", {}), env.get("device", {})
    settings = results.get("settings", {})
    header = (
        f"Targets of the last run: {results.get('created', '?')} (`python -m alttrain bench`"
        f"{' --tiny' if settings.get('tiny') else ''} at commit `{env.get('git')}`; {machine.get('cpu')}, "
        f"{machine.get('cpus_available')} CPUs available; device {device.get('type')}, "
        f"{device.get('torch_threads')} torch thread(s); ratios measured in one run, one-thread CPU work judged on "
        "CPU time). Regenerate with `python -m alttrain bench --readme README.md`."
    )
    return "\n".join([README_START, header, "", *targets_table(results, order), README_END])


def replace_readme_block(text: str, block: str) -> str:
    """``text`` with the part between the bench-target markers replaced by ``block``."""
    from alttrain.errors import UserError

    start, end = text.find(README_START), text.find(README_END)
    if start < 0 or end < start:
        raise UserError(f"README has no {README_START} ... {README_END} block to regenerate; add the two markers")
    return text[:start] + block + text[end + len(README_END):]
