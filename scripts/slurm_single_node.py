#!/usr/bin/env python3
"""A throw-away single-node SLURM cluster on this host, for testing the SLURM profile for real.

It writes a private ``slurm.conf`` (this host's short name, CPUs and memory from ``slurmd -C``), a private
munge key and socket, and starts ``munged``, ``slurmctld`` and ``slurmd`` in the foreground as children of
this process, so each one is stopped by its own PID. Nothing under ``/etc`` is changed; clients find the
cluster through the ``SLURM_CONF`` environment variable (see :meth:`Cluster.env`).

Needs root and Debian's ``slurmctld slurmd slurm-client munge`` packages (:func:`install_packages` installs
them with ``apt-get install --no-install-recommends``). Used by ``tests/test_slurm_cluster.py``; by hand::

    python scripts/slurm_single_node.py start /tmp/slurm-test   # prints the SLURM_CONF line to export
    python scripts/slurm_single_node.py stop /tmp/slurm-test    # stops the daemons by the PIDs it recorded
"""

from __future__ import annotations

import getpass
import os
import shutil
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

PACKAGES = ("slurmctld", "slurmd", "slurm-client", "munge")
BINARIES = ("munged", "slurmctld", "slurmd", "sbatch", "squeue", "scontrol")
SBIN = ("/usr/sbin", "/usr/bin", "/sbin")
CLIENTS = ("srun", "sbatch", "squeue", "scancel", "scontrol", "sinfo", "sacct")


def which(name: str) -> str | None:
    """Path of an executable, also looking in the sbin folders that a non-login PATH may lack."""
    return shutil.which(name) or shutil.which(name, path=os.pathsep.join(SBIN))


def missing_binaries() -> list[str]:
    """The SLURM/munge executables that are not installed."""
    return [b for b in BINARIES if which(b) is None]


def install_packages(timeout: float = 900) -> None:
    """``apt-get install --no-install-recommends`` the packages (``apt-get update`` first if that fails)."""
    env = {**os.environ, "DEBIAN_FRONTEND": "noninteractive"}
    cmd = ["apt-get", "install", "-y", "-qq", "--no-install-recommends", *PACKAGES]
    if subprocess.run(cmd, env=env, capture_output=True, timeout=timeout).returncode != 0:
        subprocess.run(
            ["apt-get", "update", "-qq"], env=env, check=True, capture_output=True, timeout=timeout
        )
        subprocess.run(cmd, env=env, check=True, capture_output=True, timeout=timeout)


def free_port() -> int:
    """A TCP port that nothing listens on right now."""
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def node_line() -> str:
    """``NodeName=... CPUs=... RealMemory=...`` of this host, as ``slurmd -C`` reports it."""
    out = subprocess.run([which("slurmd"), "-C"], capture_output=True, text=True, check=True).stdout
    return next(line for line in out.splitlines() if line.startswith("NodeName="))


def slurm_conf(state: Path, node: str, ctld_port: int, slurmd_port: int) -> str:
    """A single-node slurm.conf: no accounting database, no cgroups, finished jobs kept for ``squeue``."""
    fields = dict(item.split("=", 1) for item in node.split())
    host = socket.gethostname().split(".")[0]
    cpus, memory = int(fields["CPUs"]), int(fields["RealMemory"])
    return f"""\
# single-node test cluster written by scripts/slurm_single_node.py
ClusterName=alttrain-test
SlurmctldHost={host}
SlurmctldPort={ctld_port}
SlurmdPort={slurmd_port}
SlurmUser=root
SlurmdUser=root
AuthType=auth/munge
CredType=cred/munge
AuthInfo=socket={state}/munge.socket
StateSaveLocation={state}/ctld
SlurmdSpoolDir={state}/spool
SlurmctldPidFile={state}/slurmctld.pid
SlurmdPidFile={state}/slurmd.pid
SlurmctldLogFile={state}/slurmctld.log
SlurmdLogFile={state}/slurmd.log
ProctrackType=proctrack/pgid
TaskPlugin=task/none
JobAcctGatherType=jobacct_gather/none
AccountingStorageType=accounting_storage/none
JobCompType=jobcomp/none
MpiDefault=none
SchedulerType=sched/backfill
SelectType=select/cons_tres
SelectTypeParameters=CR_Core_Memory
# without a default memory per CPU a job gets the whole node and jobs cannot run side by side
DefMemPerCPU={max(256, memory // (2 * cpus))}
# squeue must still see finished jobs when Snakemake asks for their state (there is no sacct database)
MinJobAge=600
ReturnToService=2
SchedulerParameters=sched_interval=2
NodeName={host} NodeAddr=127.0.0.1 CPUs={cpus} RealMemory={memory} State=UNKNOWN
PartitionName=debug Nodes=ALL Default=YES MaxTime=INFINITE State=UP
"""


@dataclass
class Cluster:
    """A running single-node cluster; :meth:`stop` ends every daemon it started, by PID."""

    state: Path
    processes: dict[str, subprocess.Popen] = field(default_factory=dict)

    @property
    def conf(self) -> Path:
        return self.state / "slurm.conf"

    def env(self) -> dict[str, str]:
        """Environment for clients (sbatch, squeue, snakemake) of this cluster.

        ``SLURM_CONF`` names the private configuration; the client wrappers in ``<state>/bin`` (first on PATH)
        set it again, because Snakemake's job-step executor removes every ``SLURM_*`` variable before it calls
        ``srun`` inside a job (a real cluster's ``srun`` reads /etc/slurm/slurm.conf instead).
        """
        path = os.pathsep.join([str(self.state / "bin"), os.environ.get("PATH", ""), *SBIN])
        return {**os.environ, "SLURM_CONF": str(self.conf), "PATH": path}

    def _cancel_jobs(self, timeout: float) -> None:
        """``scancel`` every job of this (private) cluster and wait until none is left running."""
        ctld = self.processes.get("slurmctld")
        if ctld is None or ctld.poll() is not None:
            return
        self._run(["scancel", "--user", getpass.getuser()])
        deadline = time.monotonic() + timeout
        while _running_steps(self) and time.monotonic() < deadline:
            time.sleep(0.5)

    def _write_client_wrappers(self) -> None:
        folder = self.state / "bin"
        folder.mkdir(exist_ok=True)
        for name in CLIENTS:
            real = which(name)
            if real is None:
                continue
            wrapper = folder / name
            wrapper.write_text(f'#!/bin/sh\nSLURM_CONF={self.conf} exec {real} "$@"\n')
            wrapper.chmod(0o755)

    def _start(self, name: str, cmd: list[str]) -> None:
        log = open(self.state / f"{name}.out", "ab")  # noqa: SIM115 (closed with the process)
        self.processes[name] = subprocess.Popen(
            cmd, stdout=log, stderr=subprocess.STDOUT, env=self.env(), start_new_session=True
        )
        log.close()
        (self.state / "pids").write_text("".join(f"{n} {p.pid}\n" for n, p in self.processes.items()))

    def start(self, timeout: float = 60) -> Cluster:
        """Write the configuration, start munged, slurmctld and slurmd, and wait until the node is idle."""
        self.state.mkdir(parents=True, exist_ok=True)
        for sub in ("ctld", "spool"):
            (self.state / sub).mkdir(exist_ok=True)
        os.chmod(self.state, 0o755)  # munged refuses a socket folder that others can write to
        key = self.state / "munge.key"
        if not key.exists():
            key.write_bytes(os.urandom(1024))
        os.chmod(key, 0o600)
        self.conf.write_text(slurm_conf(self.state, node_line(), free_port(), free_port()))
        self._write_client_wrappers()
        self._start(
            "munged",
            [
                which("munged"),
                "--foreground",
                "--force",
                f"--socket={self.state}/munge.socket",
                f"--key-file={key}",
                f"--pid-file={self.state}/munged.pid",
                f"--log-file={self.state}/munged.log",
                f"--seed-file={self.state}/munged.seed",
            ],
        )
        self._wait(
            lambda: (self.state / "munge.socket").exists(), timeout, "munged did not create its socket"
        )
        self._start("slurmctld", [which("slurmctld"), "-D", "-i", "-f", str(self.conf)])
        self._wait(self._controller_up, timeout, "slurmctld does not answer")
        self._start("slurmd", [which("slurmd"), "-D", "-f", str(self.conf)])
        self._wait(self._node_idle, timeout, "the node did not become idle")
        return self

    def _controller_up(self) -> bool:
        return self._run(["scontrol", "ping"]).returncode == 0

    def _node_idle(self) -> bool:
        out = self._run(["sinfo", "-h", "-o", "%t"]).stdout.split()
        return bool(out) and all(s.startswith(("idle", "mix", "alloc")) for s in out)

    def _run(self, cmd: list[str]) -> subprocess.CompletedProcess:
        return subprocess.run(
            [which(cmd[0]), *cmd[1:]], capture_output=True, text=True, env=self.env(), timeout=30
        )

    def _wait(self, ready, timeout: float, message: str) -> None:
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            dead = [n for n, p in self.processes.items() if p.poll() is not None]
            if dead:
                raise RuntimeError(
                    f"{dead[0]} exited early; see {self.state}/{dead[0]}.out and *.log\n{self.logs()}"
                )
            if ready():
                return
            time.sleep(0.5)
        raise RuntimeError(f"{message} within {timeout:.0f} s; logs:\n{self.logs()}")

    def logs(self, tail: int = 20) -> str:
        """The last lines of every daemon log (for failure messages)."""
        parts = []
        for path in sorted(self.state.glob("*.log")) + sorted(self.state.glob("*.out")):
            lines = path.read_text(errors="replace").splitlines()[-tail:]
            parts.append(f"--- {path.name}\n" + "\n".join(lines))
        return "\n".join(parts)

    def stop(self, grace: float = 10) -> None:
        """Cancel the cluster's jobs, then SIGTERM each daemon this object started (reverse order), SIGKILL it
        after ``grace`` seconds.

        Jobs are cancelled first because their ``slurmstepd`` processes would outlive ``slurmd``.
        """
        self._cancel_jobs(timeout=3 * grace)
        for name in reversed(list(self.processes)):
            process = self.processes[name]
            if process.poll() is None:
                process.send_signal(signal.SIGTERM)
                try:
                    process.wait(grace)
                except subprocess.TimeoutExpired:
                    process.kill()
                    process.wait(grace)
        self.processes.clear()


def _running_steps(cluster: Cluster) -> list[str]:
    out = cluster._run(["squeue", "-h", "-t", "PENDING,RUNNING,COMPLETING,CONFIGURING", "-o", "%i"])
    return out.stdout.split() if out.returncode == 0 else []


def stop_recorded(state: Path, grace: float = 10) -> None:
    """Stop the daemons listed in ``<state>/pids`` (command line; each PID is checked to be that daemon)."""
    pids_file = state / "pids"
    if not pids_file.exists():
        return
    for line in reversed(pids_file.read_text().splitlines()):
        name, pid = line.split()
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes().decode(errors="replace")
        except FileNotFoundError:
            continue
        if name not in cmdline:  # the PID was reused by another program: leave it alone
            continue
        os.kill(int(pid), signal.SIGTERM)
        deadline = time.monotonic() + grace
        while Path(f"/proc/{pid}").exists() and time.monotonic() < deadline:
            time.sleep(0.2)
        if Path(f"/proc/{pid}").exists():
            os.kill(int(pid), signal.SIGKILL)
    pids_file.unlink()


def main(argv: list[str]) -> int:
    if len(argv) != 2 or argv[0] not in ("start", "stop"):
        print(__doc__)
        return 2
    state = Path(argv[1]).resolve()
    if argv[0] == "stop":
        stop_recorded(state)
        return 0
    cluster = Cluster(state).start()
    for process in cluster.processes.values():  # keep the daemons running after this command exits
        process.returncode = 0
    print(f"export SLURM_CONF={cluster.conf}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
