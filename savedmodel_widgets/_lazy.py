"""Public names of a package imported on first use, so importing the package stays light."""

from __future__ import annotations

import importlib
from collections.abc import Mapping, MutableMapping

__all__ = ["load_lazily"]


def load_lazily(package: str, modules: Mapping[str, str], name: str,
                namespace: MutableMapping[str, object]) -> object:
    """Import the module of ``package`` that defines ``name`` and return the object.

    Parameters
    ----------
    package : str
        The package's ``__name__``.
    modules : Mapping[str, str]
        ``{public name: the package's module that defines it}``.
    name : str
        The attribute asked for.
    namespace : MutableMapping[str, object]
        The package's ``globals()``; the object is kept there, so the next lookup is
        an ordinary one.

    Raises
    ------
    AttributeError
        When ``name`` is none of the package's public names.
    """
    module = modules.get(name)
    if module is None:
        raise AttributeError(f"module {package!r} has no attribute {name!r}")
    value = getattr(importlib.import_module(f".{module}", package), name)
    namespace[name] = value
    return value
