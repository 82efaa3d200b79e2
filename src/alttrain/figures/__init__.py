"""Figures: one module per figure id (``<paper>_fig_<name>.py``), each with ``SPEC`` and ``draw``.

Nothing else lives here: the spec, discovery, context, labels and drawing helpers are in
:mod:`alttrain.artifacts`.
"""
