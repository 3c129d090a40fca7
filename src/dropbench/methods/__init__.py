"""Method registry: name -> implementation (one module per method)."""

from __future__ import annotations

from typing import Any

from ..errors import ConfigError
from .approximate_random import ApproximateRandom
from .base import Compacted, Method, plain_model
from .dense import Dense
from .dropout import Dropout
from .dropout_compaction import DropoutCompaction
from .magnitude import Magnitude
from .structural import Structural
from .targeted import Targeted
from .variational import Variational

METHODS: dict[str, type[Method]] = {
    m.name: m for m in (Dense, Dropout, Magnitude, DropoutCompaction, Targeted, Structural, Variational, ApproximateRandom)
}


def get_method(name: str, params: dict[str, Any] | None = None) -> Method:
    """Instantiate a registered method; ConfigError names the valid choices."""
    cls = METHODS.get(name)
    if cls is None:
        raise ConfigError(f"unknown method {name!r}; choose one of: {', '.join(METHODS)}")
    return cls.from_params(params or {})


__all__ = ["METHODS", "Compacted", "Method", "get_method", "plain_model"]
