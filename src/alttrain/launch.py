"""``python -m alttrain launch CONFIG``: start a training run with the number of processes its config names.

The DAG's ``train_run`` calls this for every run. A run with ``world_size: 1`` trains in this process; with
``world_size: N > 1`` the data-parallel processes are started here (see :mod:`alttrain.distributed`):

* inside a SLURM job that holds N tasks (the profile asks for them: ``tasks``, ``gpu``, ``mpi``), with
  ``srun --ntasks N`` (one task per GPU; nodes as SLURM placed them);
* elsewhere, with ``torchrun --standalone --nproc-per-node N`` on this machine (NCCL on GPUs, gloo on CPU).
"""

from __future__ import annotations

import argparse
import os
import shutil
import sys
from pathlib import Path

from alttrain.errors import UserError


def command(config: Path, processes: int, env: dict[str, str] | None = None) -> list[str]:
    """The command line that trains ``config`` on ``processes`` processes (this one when 1)."""
    env = os.environ if env is None else env
    train = ["-m", "alttrain", "train", str(config), "--no-progress"]
    if processes == 1:
        return [sys.executable, *train]
    slurm_tasks = int(env.get("SLURM_NTASKS", "0") or 0)
    if "SLURM_JOB_ID" in env and slurm_tasks >= processes:
        srun = shutil.which("srun") or "srun"
        return [srun, f"--ntasks={processes}", "--kill-on-bad-exit=1", sys.executable, *train]
    if "SLURM_JOB_ID" in env and slurm_tasks > 1:
        raise UserError(f"this SLURM job holds {slurm_tasks} tasks but the run needs {processes}; give "
                        "train_run tasks = world_size (workflow/rules/train.smk does)")
    return [sys.executable, "-m", "torch.distributed.run", "--standalone", f"--nproc-per-node={processes}",
            *train]


def main(argv: list[str]) -> int:
    parser = argparse.ArgumentParser(prog="alttrain launch", description=__doc__.split("\n\n")[0])
    parser.add_argument("config", type=Path)
    args = parser.parse_args(argv)
    from alttrain.config import load_run_config

    processes = load_run_config(args.config).world_size
    if processes == 1:  # train here: no second interpreter start
        from alttrain.commands import train_main

        return train_main([str(args.config), "--no-progress"])
    argv_out = command(args.config, processes)
    print("launch:", " ".join(argv_out), flush=True)
    sys.stdout.flush()
    os.execv(argv_out[0], argv_out)  # replaces this process: signals and the exit status pass through
    return 0  # not reached
