"""alttrain: reproduce multi-tangent forward gradients (fg), OIALR low-rank training (oialr) and F3 (f3).

The package is organised by job: ``data`` loads data sets, ``models`` builds networks, ``methods`` holds the
gradient estimators of the one training loop in ``train``, ``lowrank`` the OIALR model transform and controller,
``closed_form`` the function-optimisation and approximation-quality studies, ``figures``/``tables`` one module per
published figure/table id, and ``verify`` the comparison with the published numbers.
"""

__version__ = "0.1.0"
