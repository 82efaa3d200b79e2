"""Measurement primitives of the benchmark suite: interleaved timing, peak memory, FLOPs, machine facts.

Ratios are what the suite reports on a CPU: absolute times on a shared machine drift by tens of percent
between minutes, so the variants of one comparison are timed **interleaved** (round-robin, the order rotated
every round) and each is summarised by the median over the rounds; the drift then hits numerator and
denominator alike.

Peak memory of one call:

* CUDA: ``torch.cuda.max_memory_allocated`` above the allocation before the call (tensor memory only).
* CPU: the peak resident set size (VmHWM) above the RSS before the call, measured in a forked child so the
  timed process is untouched. The child first runs the call once (faulting in code pages), asks glibc to
  give every free page back (``malloc_trim``) and to serve blocks >= 64 KiB by ``mmap`` (so freed tensors
  leave the RSS), resets VmHWM (``/proc/self/clear_refs``), then runs the call again. The result is the
  extra memory one call needs on top of what already exists (weights, data), within a few pages.
"""

from __future__ import annotations

import contextlib
import ctypes
import dataclasses
import gc
import os
import platform
import statistics
import struct
import subprocess
import time
import traceback
from collections.abc import Callable
from dataclasses import dataclass, field
from importlib.metadata import PackageNotFoundError, version
from pathlib import Path
from typing import Any

import torch

MMAP_THRESHOLD = -3  # glibc mallopt parameter M_MMAP_THRESHOLD


@dataclass
class Settings:
    """How hard the suite measures.

    Attributes:
        tiny: smallest sizes (the test suite's run); every case shrinks its workloads.
        repeats: timed rounds per comparison (the median is reported).
        warmup: untimed calls of every variant before timing (at least 1).
        min_sample_s: one timed sample repeats a fast call until it lasts at least this long.
        device: torch device of the workloads.
        memory: measure peak memory (one extra call per measurement).
        flops: count FLOPs (one extra call per measurement).
    """

    tiny: bool = False
    repeats: int = 5
    warmup: int = 1
    min_sample_s: float = 0.05
    device: torch.device = field(default_factory=lambda: torch.device("cpu"))
    memory: bool = True
    flops: bool = True

    def sync(self) -> None:
        """Wait for queued GPU work (timings must include it)."""
        if self.device.type == "cuda":
            torch.cuda.synchronize(self.device)


@dataclass
class Timing:
    """Per-call times of one variant: the median over rounds and every round's value.

    ``cpu_median_s`` is the median CPU time of this process per call: with one thread on a busy machine it
    estimates what the call takes on a core of its own (wall time then includes waiting for other processes).
    """

    median_s: float
    times_s: list[float]
    calls_per_sample: int
    cpu_median_s: float | None = None


def _sample_both(fn: Callable[[], Any], number: int, settings: Settings) -> tuple[float, float]:
    """(wall, process CPU) seconds of ``number`` back-to-back calls (garbage collection paused, as timeit)."""
    enabled = gc.isenabled()
    gc.disable()
    try:
        settings.sync()
        start, cpu_start = time.perf_counter(), time.process_time()
        for _ in range(number):
            fn()
        settings.sync()
        return time.perf_counter() - start, time.process_time() - cpu_start
    finally:
        if enabled:
            gc.enable()


def _busy_seconds(fn: Callable[[], Any], number: int, settings: Settings) -> float:
    """Seconds of ``number`` calls, for calibration.

    CPU time on the CPU (a preempted sample would otherwise look long enough), wall time on a GPU (where the
    host mostly waits).
    """
    wall, cpu = _sample_both(fn, number, settings)
    return cpu if settings.device.type == "cpu" else wall


def _calibrate(fn: Callable[[], Any], settings: Settings) -> int:
    """Calls per sample so that one sample lasts about ``min_sample_s`` (1 for slow calls)."""
    number = 1
    while settings.min_sample_s > 0 and number < 10_000:
        elapsed = _busy_seconds(fn, number, settings)
        if elapsed >= settings.min_sample_s:
            break
        # why the factor 1.2 and the cap: overshoot slightly, but never jump more than 10x on a noisy sample
        number = min(number * 10, max(number + 1, int(number * 1.2 * settings.min_sample_s / max(elapsed, 1e-7))))
    return number


def time_interleaved(fns: dict[str, Callable[[], Any]], settings: Settings) -> dict[str, Timing]:
    """Time several variants round-robin and return the per-call median of each.

    Args:
        fns: variant name -> zero-argument callable doing one unit of work (e.g. one training step).
        settings: repeats, warm-up, sample length, device.
    """
    numbers = {}
    for name, fn in fns.items():
        for _ in range(max(1, settings.warmup) - 1):
            fn()
        last_warmup = _busy_seconds(fn, 1, settings)
        # why: a call that alone lasts a whole sample needs no calibration (saves one slow call per variant)
        numbers[name] = 1 if last_warmup >= settings.min_sample_s else _calibrate(fn, settings)
    samples: dict[str, list[float]] = {name: [] for name in fns}
    cpu: dict[str, list[float]] = {name: [] for name in fns}
    names = list(fns)
    for round_ in range(max(1, settings.repeats)):
        shift = round_ % len(names)
        for name in names[shift:] + names[:shift]:  # why rotate: no variant always runs right after another
            wall, used = _sample_both(fns[name], numbers[name], settings)
            samples[name].append(wall / numbers[name])
            cpu[name].append(used / numbers[name])
    return {n: Timing(statistics.median(s), s, numbers[n], statistics.median(cpu[n])) for n, s in samples.items()}


def _proc_status(key: str) -> int:
    """A ``/proc/self/status`` memory field in bytes."""
    with open("/proc/self/status") as status:
        for line in status:
            if line.startswith(key + ":"):
                return int(line.split()[1]) * 1024
    raise KeyError(key)


def _cpu_peak_in_child(fn: Callable[[], Any], warm: bool = True) -> int | None:
    """Peak RSS increase of one call of ``fn`` in a forked child (module docstring); None if unsupported.

    ``warm=False`` skips the child's first call: code pages it faults in (a few MiB) then count, which is
    negligible for a call of a big model and saves its run time.
    """
    if not (hasattr(os, "fork") and Path("/proc/self/clear_refs").exists()) or torch.get_num_threads() > 1:
        return None  # why threads: a forked child of a multi-threaded OpenMP process can deadlock
    read_end, write_end = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: measure, report 8 bytes, exit without cleanup
        value = -1
        try:
            os.close(read_end)
            libc = ctypes.CDLL(None)
            libc.mallopt(MMAP_THRESHOLD, 64 * 1024)
            if warm:
                fn()
            libc.malloc_trim(0)
            before = _proc_status("VmRSS")
            with open("/proc/self/clear_refs", "w") as handle:
                handle.write("5")  # resets VmHWM to the current RSS (Linux >= 4.0)
            fn()
            value = _proc_status("VmHWM") - before
        except BaseException:
            value = -1
        finally:
            os.write(write_end, struct.pack("q", value))
            os._exit(0)
    os.close(write_end)
    try:
        data = os.read(read_end, 8)
    finally:
        os.close(read_end)
        os.waitpid(pid, 0)
    if len(data) != 8:
        return None
    value = struct.unpack("q", data)[0]
    return max(value, 0) if value >= 0 else None


def peak_memory(fn: Callable[[], Any], settings: Settings, warm: bool = True) -> int | None:
    """Extra bytes one call of ``fn`` needs at its peak (CUDA: allocated tensors; CPU: resident set).

    ``warm``: on the CPU, run the call once before the measured call (see :func:`_cpu_peak_in_child`).
    """
    if not settings.memory:
        return None
    if settings.device.type == "cuda":
        settings.sync()
        torch.cuda.reset_peak_memory_stats(settings.device)
        before = torch.cuda.memory_allocated(settings.device)
        fn()
        settings.sync()
        return int(torch.cuda.max_memory_allocated(settings.device) - before)
    return _cpu_peak_in_child(fn, warm)


def count_flops(fn: Callable[[], Any], settings: Settings) -> int | None:
    """FLOPs of one call counted by ``torch.utils.flop_counter`` (matmuls, convolutions, attention).

    Element-wise operations are not counted (PyTorch's counter covers only the compute-bound ops). The
    counter's per-module attribution (backward hooks of its ``ModuleTracker``) breaks ``torch.autograd.grad``
    calls with leaf inputs, as the simulated fg mode makes; only the global total is needed, so the dispatch
    mode that counts is entered without the tracker.
    """
    if not settings.flops:
        return None
    from torch.utils import flop_counter

    counter = flop_counter.FlopCounterMode(display=False)
    counting_mode = getattr(flop_counter, "_FlopCounterMode", None)
    if counting_mode is None:  # older torch: the counter is itself the dispatch mode
        with counter:
            fn()
        return int(counter.get_total_flops())
    counter.flop_counts.clear()
    with counting_mode(counter):  # why private: see the docstring (no module tracking)
        fn()
    return int(counter.get_total_flops())


def error_text(err: BaseException) -> str:
    """One line for the report: exception type, message and the innermost frame in the package."""
    frames = [f for f in traceback.extract_tb(err.__traceback__) if "alttrain" in f.filename]
    where = f" (at {Path(frames[-1].filename).name}:{frames[-1].lineno})" if frames else ""
    message = " ".join(str(err).split())
    if len(message) > 400:
        message = message[:400] + " ..."
    return f"{type(err).__name__}: {message}{where}"


def _package_version(name: str) -> str | None:
    try:
        return version(name)
    except PackageNotFoundError:
        return None


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or platform.machine()


def _git_commit(repo: Path) -> str | None:
    try:
        out = subprocess.run(
            ["git", "-C", str(repo), "describe", "--always", "--dirty"],
            capture_output=True,
            text=True,
            timeout=10,
            check=True,
        )
    except (OSError, subprocess.SubprocessError):
        return None
    return out.stdout.strip() or None


def matmul_rate(settings: Settings, size: int = 1024) -> dict[str, float]:
    """Achieved GFLOP/s of a square float32 matrix product: the practical compute bound of the device.

    Returns the rate by wall time and (CPU) by process time; the FLOP rates of the cases read against it.
    """
    a = torch.randn(size, size, device=settings.device)
    b = torch.randn(size, size, device=settings.device)
    repeats = 5 if settings.device.type == "cpu" else 50
    timing = time_interleaved({"matmul": lambda: a @ b}, dataclasses.replace(settings, repeats=repeats))["matmul"]
    flops = 2 * size**3
    rate = {"size": size, "gflop_per_s": flops / timing.median_s / 1e9}
    if timing.cpu_median_s:
        rate["gflop_per_cpu_s"] = flops / timing.cpu_median_s / 1e9
    return rate


def environment(settings: Settings, repo: Path | None = None) -> dict[str, Any]:
    """Machine, library versions and device of this run (the header of the report)."""
    cpus = len(os.sched_getaffinity(0)) if hasattr(os, "sched_getaffinity") else os.cpu_count()
    try:
        memory_gib = round(os.sysconf("SC_PAGE_SIZE") * os.sysconf("SC_PHYS_PAGES") / 2**30, 1)
    except (ValueError, OSError, AttributeError):
        memory_gib = None
    device: dict[str, Any] = {"type": settings.device.type, "torch_threads": torch.get_num_threads()}
    if settings.device.type == "cuda":
        props = torch.cuda.get_device_properties(settings.device)
        device.update(
            name=props.name,
            memory_gib=round(props.total_memory / 2**30, 1),
            cuda=torch.version.cuda,
            tf32_matmul=torch.backends.cuda.matmul.allow_tf32,
        )
    else:
        device["name"] = _cpu_model()
    return {
        "machine": {
            "host": platform.node(),
            "platform": platform.platform(),
            "cpu": _cpu_model(),
            "cpus_available": cpus,
            "memory_gib": memory_gib,
        },
        "versions": {
            "python": platform.python_version(),
            "torch": torch.__version__,
            **{name: _package_version(name) for name in ("alttrain", "numpy", "torchvision", "timm")},
        },
        "device": device,
        "matmul": matmul_rate(settings),
        "git": _git_commit(repo) if repo is not None else None,
    }
