"""Verification of reproduced numbers against the published ones (``paper/published/<paper>.yaml``).

Modules: :mod:`.published` (load and validate the files), :mod:`.catalog` (experiments the workflow produces),
:mod:`.checks` (entry statuses and claim checks), :mod:`.report` (report dict, Markdown, summary),
:mod:`.html`
(the self-contained HTML page), :mod:`.latex` (generated parts of the regenerated papers), :mod:`.readme` (the
README results section), :mod:`.provenance` (captions of the Snakemake report).
"""
