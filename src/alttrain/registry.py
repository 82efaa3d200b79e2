"""A tiny name -> entry registry shared by data sets, models, gradient estimators, figures and tables.

Every module of a registry's package is imported on first use, so adding a file is all it takes to add an
entry: with a ``@register(...)`` decorator (data sets, models, methods: the entry is a factory), or, for a
registry made with ``module_attribute="SPEC"`` (figures, tables), a module-level ``SPEC`` whose ``id`` names
the module itself as the entry.
"""

from __future__ import annotations

import importlib
import pkgutil
from collections.abc import Callable
from typing import Any

from alttrain.errors import UserError


class Registry:
    """Maps names to factories; the package's modules are imported lazily to fill it."""

    def __init__(self, kind: str, package: str, *, module_attribute: str | None = None) -> None:
        self.kind = kind
        self.package = package
        self.module_attribute = module_attribute
        self._entries: dict[str, Callable[..., Any]] = {}
        self._loaded = False

    def register(self, name: str) -> Callable[[Callable[..., Any]], Callable[..., Any]]:
        """Decorator that registers a factory under ``name``."""

        def decorate(factory: Callable[..., Any]) -> Callable[..., Any]:
            if name in self._entries and self._entries[name] is not factory:
                raise ValueError(f"{self.kind} {name!r} is registered twice")
            self._entries[name] = factory
            return factory

        return decorate

    def _load(self) -> None:
        if self._loaded:
            return
        package = importlib.import_module(self.package)
        for info in pkgutil.iter_modules(package.__path__):
            if info.name.startswith("_"):
                continue
            module = importlib.import_module(f"{self.package}.{info.name}")
            spec = getattr(module, self.module_attribute, None) if self.module_attribute else None
            if spec is not None:
                self.register(spec.id)(module)
        self._loaded = True

    def names(self) -> list[str]:
        """Sorted names of every registered entry."""
        self._load()
        return sorted(self._entries)

    def items(self) -> list[tuple[str, Any]]:
        """(name, entry) pairs sorted by name."""
        self._load()
        return sorted(self._entries.items())

    def get(self, name: str) -> Callable[..., Any]:
        """The factory registered as ``name``; an unknown name is a :class:`UserError` listing the known ones."""
        self._load()
        if name not in self._entries:
            raise UserError(f"unknown {self.kind} {name!r}; known: {', '.join(self.names())}")
        return self._entries[name]
