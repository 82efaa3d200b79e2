"""Vectorised gradient descent on the closed-form functions
(docs/methods/fg.md#closed-form-functions, #fixed-angle-tangents).

One call optimises every (approach, seed, dimension) trajectory of one function together: the dimensions
n_1..n_N are packed into one vector of length D = sum n_i, so ``x`` has shape ``(A, S, D)`` and the per-step
Python overhead is paid once for the whole grid (25,000 Rosenbrock steps are otherwise dominated by it). Seed
s has its own tangent generator (seeded s, the only random stream of the experiment: the start point is
deterministic); per step it draws one ``(K, D)`` Gaussian block (K = the largest k) and every approach uses
its first k rows in each dimension's segment (transformed by its sampler, e.g. to fixed-angle tangents).
Approaches of one seed therefore share tangents (common random numbers, a paired comparison); a seed's stream
depends on the packed dimension list.

Update: x <- x - lr * g with g the true gradient (``bp``) or a forward gradient (:func:`combine` of the k
JVPs). JVPs are ``simulated`` (d = V grad f, the analytic gradient) or ``forward_ad`` (``torch.func.jvp``
vmapped over the k tangents); both are the same numbers up to rounding.

Early stopping (docs/methods/fg.md#closed-form-functions): a step whose value is >= the previous step's value (or NaN)
counts as no improvement; after ``patience`` consecutive such steps the run stops. Several patience values are evaluated
on the same trajectories (the run continues until the largest one stops, and the stop step of a smaller patience is read
off the same value sequence): 50 is the paper's training setting, 100 the authors' learning-rate search.

Compaction: when every trajectory of an approach, a seed or a dimension has stopped (largest patience), it leaves the
batch, so the sweep does no work for it any more: the tensors shrink to the approaches, seeds and dimensions still
running (a rectangular batch: a stopped trajectory whose approach, seed and dimension all still have running ones stays
in it, frozen; stopped dimensions leave it only once they free a quarter of its columns, as the tangent columns of the
rest must then be gathered every step). A stopped seed's generator is no longer drawn; a running seed still draws its
whole (K, D) block, so its tangents do not depend on which others stopped. The stopped trajectories' values repeat
their last value, exactly what a frozen iterate gives, so compaction changes no result (a test compares it with
``compact=False``).
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import numpy as np
import pandas as pd
import torch

from alttrain.fg_math.combination import combine
from alttrain.fg_math.functions import FUNCTIONS, TestFunction
from alttrain.methods.tangents import specific_angle_tangents


@dataclass(frozen=True)
class Approach:
    """One optimiser of the sweep (its step size is given per dimension, see :func:`run_sweep`).

    Attributes:
        name: label in the CSVs (``bp``, ``fg_k1``, ``fg_mean_k4``, ``frog_k16``, ...).
        combination: ``bp``, ``mean``, ``sum`` or ``orthogonal_projection``.
        k: number of tangents (0 for bp).
        sampler: ``normal`` or ``specific_angle`` (with ``angle`` in degrees). normalize: unit-length
            tangents.
    """

    name: str
    combination: str
    k: int
    sampler: str = "normal"
    angle: float | None = None
    normalize: bool = False


def stop_step(values, patience: int) -> int:
    """The step at which the early-stopping rule stops a run with values ``values`` (f_0, f_1, ...).

    Reference implementation of the rule that :func:`run_sweep` applies vectorised: step t counts as no
    improvement when f_t is not below f_{t-1} (ties and NaN included); the run stops at the step where the
    count of consecutive such steps reaches ``patience``, or at the last step.
    """
    count = 0
    for step in range(1, len(values)):
        count = count + 1 if not values[step] < values[step - 1] else 0
        if count >= patience or values[step] != values[step]:  # NaN != NaN: stop on NaN
            return step
    return len(values) - 1


def parse_approach(name: str) -> tuple[str, int]:
    """(combination, k) of a standard approach id: bp, fg_k1, fg_mean_k<k>, frog_k<k>."""
    if name == "bp":
        return "bp", 0
    match = re.fullmatch(r"(fg_mean|fg|frog)_k(\d+)", name)
    if match is None:
        raise ValueError(f"unknown approach {name!r}; expected bp, fg_k1, fg_mean_k<k> or frog_k<k>")
    return ("orthogonal_projection" if match.group(1) == "frog" else "mean"), int(match.group(2))


class Packing:
    """Several dimensions n_1..n_N packed into one vector of length D = sum n_i (one instance each)."""

    def __init__(self, ns: list[int]) -> None:
        self.ns = list(ns)
        sizes = torch.tensor(self.ns)
        self.segment = torch.repeat_interleave(
            torch.arange(len(self.ns)), sizes
        )  # (D,): which n a coordinate has
        self.pairs = self.segment[:-1] == self.segment[1:]  # (D-1,): neighbouring pairs inside one instance
        offsets = [0, *torch.cumsum(sizes, 0).tolist()]
        self.slices = [slice(a, b) for a, b in zip(offsets[:-1], offsets[1:], strict=True)]

    def sum(self, values: torch.Tensor) -> torch.Tensor:
        """Per-instance sums (..., N) of per-coordinate values (..., D), accumulated in float64.

        why float64: a float32 sum of 1024 Styblinski-Tang terms (about -39 each) can be off by ~0.2 (beyond
        the minimum); the iterates stay in the configured dtype. why index_add and not a matrix product with
        an indicator: a diverged instance (inf, NaN) must not turn the sums of the others into NaN (inf * 0).
        """
        out = values.new_zeros(*values.shape[:-1], len(self.ns), dtype=torch.float64)
        return out.index_add_(-1, self.segment, values.double())

    def expand(self, per_instance: torch.Tensor) -> torch.Tensor:
        """Per-coordinate values (..., D) from per-instance values (..., N)."""
        return per_instance[..., self.segment]


def _tangents(approach: Approach, draws: torch.Tensor) -> torch.Tensor:
    """The approach's tangents (S, k, n) from the shared Gaussian draws (S, K, n)."""
    tangents = draws[:, : approach.k]
    if approach.sampler == "specific_angle":
        tangents = specific_angle_tangents(tangents, approach.angle)
    elif approach.sampler != "normal":
        raise ValueError(
            f"the sweep supports the normal and specific_angle samplers, not {approach.sampler!r}"
        )
    if approach.normalize:
        tangents = tangents / tangents.norm(dim=-1, keepdim=True)
    return tangents


class _GeneralUpdate:
    """Per instance and approach: tangents, JVPs (simulated or true forward mode) and :func:`combine`."""

    def __init__(self, approaches, packing, function: TestFunction, jvp_mode: str, gram_solver: str) -> None:
        if jvp_mode not in ("simulated", "forward_ad"):
            raise ValueError(f"unknown jvp_mode {jvp_mode!r}; known: simulated, forward_ad")
        self.approaches, self.packing, self.function = approaches, packing, function
        self.jvp_mode, self.gram_solver = jvp_mode, gram_solver

    def update(self, draws: torch.Tensor, grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        update = torch.empty_like(grad)  # (A, S, D)
        for part in self.packing.slices:
            for index, approach in enumerate(self.approaches):
                if approach.combination == "bp":
                    update[index, :, part] = grad[index, :, part]
                    continue
                tangents = _tangents(approach, draws[:, :, part])  # (S, k, n)
                if self.jvp_mode == "simulated":
                    jvps = (tangents @ grad[index, :, part].unsqueeze(-1)).squeeze(-1)  # (S, k)
                else:
                    jvps = self._forward_jvps(x[index, :, part], tangents)
                update[index, :, part] = combine(
                    tangents, jvps, approach.combination, gram_solver=self.gram_solver
                )
        return update

    def _forward_jvps(self, x: torch.Tensor, tangents: torch.Tensor) -> torch.Tensor:
        """True forward mode: one jvp of f per tangent, vmapped over the k tangents -> (S, k)."""

        def along(t: torch.Tensor) -> torch.Tensor:  # t: (S, n) -> (S,)
            return torch.func.jvp(self.function.value, (x,), (t,))[1]

        return torch.func.vmap(along, in_dims=1, out_dims=1)(tangents)


class _PackedUpdate:
    """All approaches and dimensions at once when every approach uses the first k of the shared Gaussian
    tangents.

    mean/sum: (1/k) sum_{i<k} d_i v_i with one masked weighting. projection onto the first m tangents: with
    the Cholesky factor L of the Gram matrix G = V V^T (float64), V^T = Q L^T is the QR factorisation of V^T,
    so P_m g = Q[:, :m] z[:m] with z = L^{-1} d, i.e. V^T L^{-T} (z masked to its first m entries). L, and z
    restricted to its first m entries, depend only on the first m tangents (triangular prefixes), so one Gram
    matrix per seed, dimension and step serves every k. With n < K only the first n tangents enter
    (docs/methods/fg.md#orthogonal-projection): the Gram matrix is completed by the identity beyond them, which
    leaves the first n coordinates of z unchanged.
    """

    def __init__(self, approaches: list[Approach], packing: Packing, dtype: torch.dtype) -> None:
        k_max = max([a.k for a in approaches] + [1])
        index = torch.arange(k_max)
        ns = torch.tensor(packing.ns).view(-1, 1)  # (N, 1)
        self.packing = packing
        self.bp = torch.tensor([a.combination == "bp" for a in approaches]).view(-1, 1, 1)
        weights, proj_mask = [], []
        for a in approaches:
            scale = {"mean": 1.0 / max(a.k, 1), "sum": 1.0}.get(a.combination, 0.0)
            weights.append((index < a.k).to(dtype) * scale)
            is_proj = a.combination == "orthogonal_projection"
            proj_mask.append(((index < a.k) & (index < ns) & is_proj).double())  # (N, K)
        self.weights = torch.stack(weights).view(1, len(approaches), 1, k_max)  # (1, A, 1, K)
        self.proj_mask = torch.stack(proj_mask).unsqueeze(0).unsqueeze(-1)  # (1, A, N, K, 1)
        valid = (index < ns).double()  # (N, K): tangents that enter the projection in dimension n
        self.gram_mask = valid.unsqueeze(-1) * valid.unsqueeze(-2)  # (N, K, K)
        self.gram_fill = torch.diag_embed(1 - valid)  # identity on the unused tangents
        self.proj = [i for i, a in enumerate(approaches) if a.combination == "orthogonal_projection"]
        self.proj_mask = self.proj_mask[:, self.proj]  # only the projection approaches are solved for

    def update(self, draws: torch.Tensor, grad: torch.Tensor, x: torch.Tensor) -> torch.Tensor:
        """Updates (A, S, D) from the draws (S, K, D) and the true gradients (A, S, D)."""
        grad_s = grad.transpose(0, 1)  # (S, A, D)
        parts = self.packing.slices
        jvps = torch.stack(
            [grad_s[..., p] @ draws[..., p].transpose(1, 2) for p in parts], dim=2
        )  # (S, A, N, K)
        coeff = jvps * self.weights  # mean / sum approaches (zero weight for the others)
        if self.proj:
            wide = draws.double()
            grams = torch.stack(
                [wide[..., p] @ wide[..., p].transpose(1, 2) for p in parts], dim=1
            )  # (S, N, K, K)
            chol = torch.linalg.cholesky(grams * self.gram_mask + self.gram_fill).unsqueeze(
                1
            )  # (S, 1, N, K, K)
            d = jvps[:, self.proj].double().unsqueeze(-1)  # (S, P, N, K, 1)
            z = torch.linalg.solve_triangular(chol, d, upper=False)
            back = torch.linalg.solve_triangular(chol.transpose(-1, -2), z * self.proj_mask, upper=True)
            coeff[:, self.proj] += back.squeeze(-1).to(coeff.dtype)
        update = torch.empty_like(grad_s)
        for i, p in enumerate(parts):
            update[..., p] = coeff[:, :, i] @ draws[..., p]  # (S, A, K) @ (S, K, n)
        return torch.where(self.bp, grad, update.transpose(0, 1))


@dataclass
class SweepResult:
    """Values f_t of every trajectory and where each patience stopped it.

    Attributes:
        values: (T + 1, A, S, N) function values (float64) per approach, seed and dimension; step 0 = start.
        stops: {patience: (A, S, N) step at which that patience stops the run (or the last step)}.
        diverged: (A, S, N) True where a NaN occurred.
    """

    function: str
    ns: list[int]
    approaches: list[Approach]
    lrs: np.ndarray
    seeds: list[int]
    values: torch.Tensor
    stops: dict[int, torch.Tensor]
    diverged: torch.Tensor
    steps: int  # the step budget (``values`` ends earlier when every trajectory stopped before it)


def run_sweep(
    function: str,
    ns: list[int],
    approaches: list[Approach],
    lrs,
    seeds: list[int],
    *,
    patiences: tuple[int, ...] = (50,),
    max_steps: int | None = None,
    dtype: torch.dtype = torch.float32,
    jvp_mode: str = "simulated",
    gram_solver: str = "cholesky",
    compact: bool = True,
) -> SweepResult:
    """Optimise ``function`` in every dimension of ``ns`` with every approach and seed at once.

    Args:
        function: key of :data:`FUNCTIONS`. ns: dimensions. approaches: the optimisers.
        lrs: step sizes, array-like (A, N) (approach x dimension).
        seeds: tangent seeds (one generator each; it draws the (K, sum ns) Gaussian block of every step).
        patiences: early-stopping patiences evaluated on the same trajectories.
        max_steps: step budget (default: the paper's for the function).
        dtype: of the iterates (the authors' default float32).
        jvp_mode: ``simulated`` or ``forward_ad``. gram_solver: ``cholesky`` (float64 Gram matrix, the
            vectorised path), ``qr`` or ``inverse`` (per-dimension :func:`combine`, e.g. to mimic the authors'
            inverse).
        compact: drop stopped approaches, seeds and dimensions from the batch (identical results; ``False``
            steps the whole grid to the end, the reference of the tests and the benchmark).
    """
    fn = FUNCTIONS[function]
    steps = max_steps if max_steps is not None else fn.max_steps
    full = Packing(ns)
    a_count, s_count, n_count = len(approaches), len(seeds), len(ns)
    k_max = max([a.k for a in approaches] + [1])
    lr_array = np.asarray(lrs, dtype=np.float64).reshape(a_count, n_count)
    step_size = full.expand(torch.as_tensor(lr_array).to(dtype)).unsqueeze(1)  # (A, 1, D)
    generators = [torch.Generator().manual_seed(seed) for seed in seeds]
    x = torch.cat([fn.start(n, dtype) for n in ns]).expand(a_count, s_count, -1).clone()  # (A, S, D)
    values = torch.empty(steps + 1, a_count, s_count, n_count, dtype=torch.float64)
    values[0] = full.sum(fn.terms(x, full.pairs))
    patiences = tuple(sorted(set(patiences)))
    stops = {p: torch.full((a_count, s_count, n_count), -1, dtype=torch.long) for p in patiences}
    counter = torch.zeros(a_count, s_count, n_count, dtype=torch.long)
    diverged = torch.zeros(a_count, s_count, n_count, dtype=torch.bool)
    active = torch.ones(a_count, s_count, n_count, dtype=torch.bool)
    plain = all(a.sampler == "normal" and not a.normalize for a in approaches)
    packed = plain and jvp_mode == "simulated" and gram_solver == "cholesky"

    # The batch: the approaches, seeds and dimensions with a trajectory still running (all of them at first).
    # `compact` shrinks it whenever a whole approach, seed or dimension has stopped (section "Compaction" of the
    # module docstring); every tensor below is indexed by the batch, the bookkeeping above by the full grid.
    keep_a, keep_s, keep_n = (torch.arange(c) for c in (a_count, s_count, n_count))
    draws_full = torch.empty(s_count, k_max, full.segment.numel(), dtype=dtype)

    def batch(keep_a, keep_s, keep_n):
        packing = Packing([ns[i] for i in keep_n.tolist()])
        columns = torch.cat([torch.arange(full.slices[i].start, full.slices[i].stop) for i in keep_n.tolist()])
        chosen = [approaches[i] for i in keep_a.tolist()]
        k = max([a.k for a in chosen] + [1])
        if packed:
            stepper = _PackedUpdate(chosen, packing, dtype)
        else:
            stepper = _GeneralUpdate(chosen, packing, fn, jvp_mode, gram_solver)
        grid = (keep_a.view(-1, 1, 1), keep_s.view(1, -1, 1), keep_n.view(1, 1, -1))
        return packing, columns, k, stepper, grid

    packing, columns, k_batch, stepper, grid = batch(keep_a, keep_s, keep_n)
    all_columns = columns.numel() == full.segment.numel()
    last = steps
    moving = packing.expand(active)  # (A, S, D), recomputed only when a trajectory stops
    for step in range(1, steps + 1):
        for s in keep_s.tolist():  # a stopped seed's stream is no longer needed; a running one is drawn whole
            draws_full[s].normal_(generator=generators[s])  # (K, D): this seed's tangents of every dimension
        draws = draws_full
        if len(keep_s) < s_count or k_batch < k_max:
            draws = draws[keep_s, :k_batch]
        if not all_columns:
            draws = draws[..., columns]
        update = stepper.update(draws, fn.grad(x, packing.pairs), x)
        x = torch.where(moving, x - step_size * update, x)  # stopped trajectories stay put
        values[step] = values[step - 1]  # a trajectory outside the batch has stopped: its value stays
        values[step][grid] = packing.sum(fn.terms(x, packing.pairs))
        current = values[step]
        worse = ~(current < values[step - 1])  # why "not less": NaN and ties count as no improvement
        counter = torch.where(worse, counter + 1, 0)
        nan = torch.isnan(current) & active
        diverged |= nan
        for patience, stop in stops.items():
            stop[((counter >= patience) | nan) & (stop < 0)] = step
        still = stops[patiences[-1]] < 0
        if not bool(still.all()):
            if not bool(still.any()):
                last = step
                break
            if not torch.equal(still, active):
                active = still
                if compact:
                    new_a, new_s, new_n = (torch.nonzero(still.any(dim=d)).flatten() for d in ((1, 2), (0, 2), (0, 1)))
                    if sum(ns[i] for i in new_n.tolist()) > 0.75 * columns.numel():
                        new_n = keep_n  # dropping < 1/4 of the columns saves less than gathering them costs
                    if (len(new_a), len(new_s), len(new_n)) != (len(keep_a), len(keep_s), len(keep_n)):
                        pos_a, pos_s, pos_n = (torch.searchsorted(old, new) for old, new in
                                               ((keep_a, new_a), (keep_s, new_s), (keep_n, new_n)))
                        keep_a, keep_s, keep_n = new_a, new_s, new_n
                        packing, columns_new, k_batch, stepper, grid = batch(keep_a, keep_s, keep_n)
                        kept = torch.searchsorted(columns, columns_new)  # old batch column of each kept one
                        x = x[pos_a][:, pos_s][..., kept]
                        step_size = step_size[pos_a][..., kept]
                        columns = columns_new
                        all_columns = columns.numel() == full.segment.numel()
                moving = packing.expand(still[grid])
    for stop in stops.values():
        stop[stop < 0] = last
    return SweepResult(
        function, list(ns), list(approaches), lr_array, list(seeds), values[: last + 1], stops, diverged, steps
    )


def final_rows(
    result: SweepResult, training_patience: int, search_patience: int | None = None
) -> pd.DataFrame:
    """One row per approach, seed and n: final/best values and steps per patience."""
    fn = FUNCTIONS[result.function]
    values = result.values.double().numpy()  # (T+1, A, S, N)
    running_min = np.fmin.accumulate(values, axis=0)
    sets = [("", training_patience)] + ([("_search", search_patience)] if search_patience is not None else [])
    rows = []
    for a, approach in enumerate(result.approaches):
        for s, seed in enumerate(result.seeds):
            for i, n in enumerate(result.ns):
                f_min = fn.minimum(n)
                row = {
                    "function": result.function,
                    "n": n,
                    "approach": approach.name,
                    "combination": approach.combination,
                    "k": approach.k,
                    "sampler": approach.sampler,
                    "angle": approach.angle,
                    "seed": seed,
                    "lr": float(result.lrs[a, i]),
                    "f_min": f_min,
                    "diverged": bool(result.diverged[a, s, i]),
                }
                for suffix, patience in sets:
                    stop = int(result.stops[patience][a, s, i])
                    row[f"final_value{suffix}"] = float(values[stop, a, s, i])
                    row[f"best_value{suffix}"] = float(running_min[stop, a, s, i])
                    row[f"steps{suffix}"] = stop
                row["final_gap"] = row["final_value"] - f_min
                rows.append(row)
    return pd.DataFrame(rows)


def curve_rows(
    result: SweepResult, patience: int, points: int = 100, ns: list[int] | None = None
) -> pd.DataFrame:
    """Optimisation curves on a log-spaced grid of the step budget, each trajectory up to its stop (training
    patience). The grid depends on the budget only, not on when the sweep's last trajectory stopped, so a
    trajectory's curve is the same whichever others share its sweep (a sweep split by seeds gives the same rows).
    """
    grid = np.unique(np.concatenate([[0], np.geomspace(1, max(result.steps, 1), points).round().astype(int)]))
    values = result.values.double().numpy()
    f_min = FUNCTIONS[result.function].minimum
    rows = []
    for i, n in enumerate(result.ns):
        if ns is not None and n not in ns:
            continue
        for a, approach in enumerate(result.approaches):
            for s, seed in enumerate(result.seeds):
                stop = int(result.stops[patience][a, s, i])
                steps = np.unique(np.append(grid[grid <= stop], stop))
                for step, value in zip(steps.tolist(), values[steps, a, s, i].tolist(), strict=True):
                    rows.append(
                        (
                            result.function,
                            n,
                            approach.name,
                            approach.k,
                            approach.angle,
                            seed,
                            step,
                            value,
                            f_min(n),
                        )
                    )
    columns = ["function", "n", "approach", "k", "angle", "seed", "step", "value", "f_min"]
    return pd.DataFrame(rows, columns=columns)
