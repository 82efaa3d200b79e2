"""torch.optim's SGD, Adam and AdamW without the ``torch._dynamo`` import of their first call.

``torch.optim`` wraps ``Optimizer.step`` in ``_use_grad_for_differentiable``, which imports ``torch._dynamo``
(about 1.3 s of CPU, as long as importing torch itself) to place graph breaks for ``torch.compile``, and wraps
``zero_grad``, ``state_dict``, ``load_state_dict`` and ``add_param_group`` in ``torch._disable_dynamo``, which
imports it on the first call. A training job never compiles its optimizer, so these wrappers cost every job a
second of start-up and do nothing else. The classes here are subclasses of the torch classes (``isinstance``
holds, so timm's schedulers and the low-rank state transforms work unchanged) whose methods are the wrapped
originals (``inspect.unwrap`` of torch's own functions): the same update, bit for bit, run under
``torch.no_grad()`` exactly as torch does for ``differentiable=False``.

Closures (``step(closure)``) are not supported: the training loop never passes one.
"""

from __future__ import annotations

import inspect

import torch

from alttrain.errors import UserError

# torch.optim.Optimizer methods wrapped in torch._disable_dynamo (torch/optim/optimizer.py)
_DYNAMO_WRAPPED = ("zero_grad", "state_dict", "load_state_dict", "add_param_group")


def _eager(cls: type[torch.optim.Optimizer]) -> type[torch.optim.Optimizer]:
    """A subclass of ``cls`` whose step and bookkeeping methods bypass torch's dynamo wrappers."""
    update = inspect.unwrap(cls.step)  # the class's own update rule, below the graph-break wrapper

    def step(self, closure=None):
        if closure is not None:
            raise UserError(f"{cls.__name__}.step: closures are not supported by alttrain's eager optimizers")
        with torch.no_grad():
            return update(self)

    namespace = {name: inspect.unwrap(getattr(torch.optim.Optimizer, name)) for name in _DYNAMO_WRAPPED}
    namespace.update(step=step, __doc__=f"{cls.__doc__ or cls.__name__}\n\n(alttrain: without torch._dynamo)",
                     __module__=__name__, __qualname__=cls.__name__)
    return type(cls.__name__, (cls,), namespace)


SGD = _eager(torch.optim.SGD)
Adam = _eager(torch.optim.Adam)
AdamW = _eager(torch.optim.AdamW)

OPTIMIZERS: dict[str, type[torch.optim.Optimizer]] = {"sgd": SGD, "adam": Adam, "adamw": AdamW}
