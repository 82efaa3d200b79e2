"""Data-parallel training with ``torch.distributed``: the same training loop on several processes.

Launch any run on several processes with ``torchrun`` (one node or several) or ``srun`` (SLURM)::

    torchrun --nproc-per-node 2 -m alttrain train results/runs/.../config.yaml --no-progress
    srun --ntasks 8 --gpus-per-task 1 python -m alttrain train results/runs/.../config.yaml --no-progress

How the loop stays one loop (see ``train.py``):

* Every rank builds the model, the shuffling generator and the estimator's generator from the same
  seed, so every rank draws the same permutation and the same tangents; the parameters are broadcast
  from rank 0 anyway.
* Each global mini-batch (``batch_size`` samples) is cut into ``world_size`` contiguous shards
  (:func:`shard`); each rank's estimator fills ``.grad`` for its shard, and :func:`average_gradients`
  all-reduces the gradients weighted by shard size: the gradient of the global batch's mean loss. This
  works for every estimator (backprop, forward gradients, feedback methods), unlike
  ``DistributedDataParallel``'s backward hooks, which only see reverse-mode gradients. For backprop and
  weight-perturbation forward gradients (same tangents on every rank; the estimate is linear in the
  per-sample losses) the result equals the one-process run with the same global batch up to
  floating-point rounding. Per-sample randomness (dropout masks, activity-perturbation tangents) is drawn
  per shard from identical streams: such runs are valid but differ from the one-process run.
* Evaluation, the alignment probe and the low-rank controller run on every rank with identical inputs; only
  rank 0 writes files (checkpoint, ``metrics.csv``, ``summary.json``).
* OIALR: one rank computes a layer's SVD and the others receive it with :func:`broadcast_tensors` (the
  shapes follow from the current rank k, known everywhere); :func:`owner_of` assigns layers round-robin (see
  ``OIALRController._owner_svd``).

Everything here is a no-op in a single process, so the code path is the same with and without ``torchrun``.
"""

from __future__ import annotations

import atexit
import os
import re
from collections.abc import Iterable, Mapping
from dataclasses import dataclass

import torch
import torch.distributed as dist
from torch import nn

from alttrain.errors import UserError


@dataclass(frozen=True)
class DistContext:
    """This process's place in the job: ``rank`` of ``world_size`` processes, ``local_rank`` on its node."""

    rank: int = 0
    world_size: int = 1
    local_rank: int = 0

    @property
    def enabled(self) -> bool:
        """True when more than one process trains."""
        return self.world_size > 1

    @property
    def is_main(self) -> bool:
        """True on the process that writes files (rank 0)."""
        return self.rank == 0


def context_from_env(env: Mapping[str, str] | None = None) -> DistContext:
    """Rank and world size from ``torchrun`` (``RANK``, ``WORLD_SIZE``, ``LOCAL_RANK``) or ``srun``.

    A single SLURM task (an ordinary Snakemake job on a cluster) is a one-process run.
    """
    env = os.environ if env is None else env
    if "WORLD_SIZE" in env:
        return DistContext(int(env.get("RANK", 0)), int(env["WORLD_SIZE"]), int(env.get("LOCAL_RANK", 0)))
    if int(env.get("SLURM_NTASKS", "1")) > 1 and "SLURM_PROCID" in env:
        return DistContext(
            int(env["SLURM_PROCID"]), int(env["SLURM_NTASKS"]), int(env.get("SLURM_LOCALID", 0))
        )
    return DistContext()


def first_slurm_host(nodelist: str) -> str:
    """First host of a SLURM node list: ``gpu[003-005,010],cpu1`` -> ``gpu003``."""
    match = re.match(r"([^\[,]+)(?:\[([^\],-]+))?", nodelist)
    if match is None:
        raise UserError(f"cannot read the SLURM node list {nodelist!r}; set MASTER_ADDR")
    return match.group(1) + (match.group(2) or "")


def init(device_name: str = "auto") -> tuple[DistContext, torch.device]:
    """Join the process group (when launched on several processes) and choose this process's device, once.

    The device is CUDA when available (``cuda:<local_rank>`` with several processes), else CPU; the
    backend is NCCL on CUDA and gloo on CPU. Under ``srun`` without ``MASTER_ADDR`` the first host of the
    allocation and a port derived from the job id are used.
    """
    from alttrain.devices import resolve_device

    ctx = context_from_env()
    device = resolve_device(device_name)
    if not ctx.enabled:
        return ctx, device
    if device.type == "cuda":
        if torch.cuda.device_count() <= ctx.local_rank:
            raise UserError(f"local rank {ctx.local_rank} has no GPU (found {torch.cuda.device_count()})")
        device = torch.device("cuda", ctx.local_rank)
        torch.cuda.set_device(device)
    if not dist.is_initialized():
        if "SLURM_JOB_NODELIST" in os.environ:
            os.environ.setdefault("MASTER_ADDR", first_slurm_host(os.environ["SLURM_JOB_NODELIST"]))
            job = int(os.environ.get("SLURM_JOB_ID", "0"))
            os.environ.setdefault("MASTER_PORT", str(20000 + job % 20000))
        backend = "nccl" if device.type == "cuda" else "gloo"
        dist.init_process_group(backend, rank=ctx.rank, world_size=ctx.world_size)
        atexit.register(_leave)
    return ctx, device


def finish() -> None:
    """Wait for every rank at the end of a run (no-op in a single process).

    The process group stays open until the process exits: a process that trains several runs joins it
    once. Leaving and re-joining through the same rendezvous store can read the previous group's stale
    addresses (gloo then fails with "connectFullMesh ... Connection refused").
    """
    if dist.is_initialized():
        dist.barrier()


def _leave() -> None:
    """Leave the process group at process exit."""
    if dist.is_initialized():
        dist.destroy_process_group()


def active() -> bool:
    """True when a process group with more than one process is running."""
    return dist.is_initialized() and dist.get_world_size() > 1


def rank() -> int:
    """This process's rank (0 without a process group)."""
    return dist.get_rank() if dist.is_initialized() else 0


def world_size() -> int:
    """Number of processes (1 without a process group)."""
    return dist.get_world_size() if dist.is_initialized() else 1


def is_main() -> bool:
    """True on rank 0, the process that writes files."""
    return rank() == 0


def barrier() -> None:
    """Wait for every process (no-op in a single process)."""
    if active():
        dist.barrier()


def owner_of(layer_index: int) -> int:
    """Rank that does the work of layer ``layer_index`` (round-robin, as the OIALR authors spread SVDs)."""
    return layer_index % world_size()


def shard(index: torch.Tensor) -> torch.Tensor:
    """This rank's contiguous part of a global batch of sample positions (sizes differ by at most one).

    Args:
        index: (B,) positions of the global batch in the training split.

    Returns:
        (B_r,) the positions this rank trains on; the shards of all ranks, in rank order, make up ``index``.
    """
    if not active():
        return index
    return torch.tensor_split(index, world_size())[rank()]


def average_gradients(model: nn.Module, batch_loss: float, local_count: int, global_count: int) -> float:
    """Make every rank's ``.grad`` the gradient of the global batch's mean loss; return that mean loss.

    Each rank's gradient (of its shard's mean loss) is weighted by ``local_count / global_count`` and summed
    over ranks. A parameter keeps ``grad=None`` only when no rank produced a gradient for it, so
    optimisers skip it exactly as in a single process. Identity in a single process.

    Args:
        model: the model; its trainable parameters are in the same order on every rank.
        batch_loss: this rank's mean loss over its shard (ignored when ``local_count`` is 0).
        local_count: samples in this rank's shard.
        global_count: samples in the global batch.
    """
    if not active():
        return batch_loss
    params = [p for p in model.parameters() if p.requires_grad]
    weight = local_count / global_count
    device = params[0].device if params else torch.device("cpu")
    # [has-gradient flag per parameter, weighted loss] in float64 (the loss gains no rounding of its own)
    flags = [float(p.grad is not None) for p in params] + [batch_loss * weight if local_count else 0.0]
    header = torch.tensor(flags, dtype=torch.float64, device=device)
    dist.all_reduce(header)
    # one flat float32 bucket: one all-reduce instead of one per parameter; a missing gradient counts as zero
    grads = [p.grad if p.grad is not None else torch.zeros_like(p) for p in params]
    flat = torch.cat([g.detach().reshape(-1).float() * weight for g in grads])  # (sum of parameter sizes,)
    dist.all_reduce(flat)
    offset = 0
    for p, produced in zip(params, header[:-1].tolist(), strict=True):
        n = p.numel()
        p.grad = flat[offset : offset + n].reshape(p.shape).to(p.dtype).clone() if produced > 0 else None
        offset += n
    return float(header[-1])


def broadcast_module(module: nn.Module, src: int = 0) -> None:
    """Copy every parameter and buffer of ``module`` from rank ``src`` to all ranks (in place)."""
    broadcast_tensors([t.data for t in module.parameters()] + list(module.buffers()), src)


def broadcast_tensors(tensors: Iterable[torch.Tensor], src: int = 0) -> None:
    """Overwrite ``tensors`` on every rank with rank ``src``'s values (shapes and dtypes must agree)."""
    if not active():
        return
    for tensor in tensors:
        dist.broadcast(tensor, src)

