"""Classes built on first access, so that importing a pipeline module never imports LangChain.

A module defines ``def _make() -> type`` (which imports LangChain inside) and sets
``__getattr__ = lazy_classes(__name__, {"Name": _make})``; ``from module import Name`` then
gives the real class, built once.
"""

from __future__ import annotations

from collections.abc import Callable
from typing import Any


def lazy_classes(module: str, factories: dict[str, Callable[[], type]]) -> Callable[[str], Any]:
    built: dict[str, type] = {}

    def __getattr__(name: str) -> Any:
        if name not in factories:
            raise AttributeError(f"module {module!r} has no attribute {name!r}")
        if name not in built:
            cls = factories[name]()
            cls.__module__ = module
            cls.__qualname__ = name
            built[name] = cls
        return built[name]

    return __getattr__
