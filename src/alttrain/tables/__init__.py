"""Tables: one module per table id (``<paper>_tab_<name>.py``), each with ``SPEC`` and ``build``.

Nothing else lives here: the spec, discovery, context, labels, cells and rendering are in
:mod:`alttrain.artifacts`.
"""
