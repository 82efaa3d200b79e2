"""One pipeline module per paper: the jobs of ``workflow/rules/<paper>.smk`` beside the generic training runs.

``python -m alttrain <paper> <step> ...`` runs one step; each module's docstring lists its steps and the rule
that calls each one, and its ``CSVS`` names the CSVs (under ``results/metrics/<paper>/``) its steps write.

* :mod:`.fg`: closed-form sweeps, approximation quality, custom-angle tangents, the authors' learning rates;
* :mod:`.oialr`: the paper's CSVs collected from runs, plan and references; basis stability from snapshots;
* :mod:`.f3`: settings and not-run CSVs, empty experiments, gap reduction.
"""
