"""The notebook's variables, where the widgets look for models."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any


def notebook_namespace(namespace: Mapping[str, Any] | None = None) -> Mapping[str, Any]:
    """``namespace`` if given, else the running IPython kernel's user namespace, else empty."""
    if namespace is not None:
        return namespace
    try:
        from IPython import get_ipython
    except ImportError:
        return {}
    shell = get_ipython()
    return shell.user_ns if shell is not None else {}
