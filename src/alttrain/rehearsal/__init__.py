"""Paper-scale rehearsal and cost model (``python -m alttrain rehearse``; docs/cluster.md).

For every distinct job shape of a scale (model x method and its options x data shape x per-process batch x
world size) the rehearsal

1. starts the real training loop (:func:`alttrain.train.train`, through ``python -m alttrain train`` under
   ``torchrun`` with two gloo processes for data-parallel shapes) for a few steps at full model size on
   synthetic tensors of the real shapes (:mod:`alttrain.data.synthetic`; :mod:`.datasets` holds the shapes);
2. measures FLOPs per training step and per evaluation pass (``torch.utils.flop_counter``), parameters,
   optimizer state and peak memory at two small per-process batch sizes and extrapolates linearly to the
   paper's batch (:mod:`.measure`);
3. turns the measurements into GPU-hours and peak GPU memory on reference GPUs (:mod:`.cost`), checks the
   SLURM profile against them (:mod:`.profile`) and writes ``results/rehearsal/`` (:mod:`.report`).

Modules: :mod:`.datasets` (real data shapes), :mod:`.shapes` (grouping runs into job shapes),
:mod:`.measure`, :mod:`.cost`, :mod:`.profile`, :mod:`.report`, :mod:`.cli`.
"""
