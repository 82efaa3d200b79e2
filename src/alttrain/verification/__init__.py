"""Verification of reproduced numbers against the published ones (``paper/published/<paper>.yaml``).

Modules: :mod:`.published` (load and validate the files), :mod:`.checks` (entry statuses and claim checks),
:mod:`.report` (report dict, Markdown, summary), :mod:`.html` (the self-contained HTML page). The documents
written from the report (LaTeX parts of the papers, the results page) are in :mod:`alttrain.writeup`; what the
workflow produces (the experiment catalog) and the Snakemake glue are in :mod:`alttrain.workflow`.
"""
