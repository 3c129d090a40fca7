"""The papers' claims, one module per paper, each checked like a small pre-registered experiment.

A paper module holds its constants, its check(s), its control and its report section, and
exports a `Paper`; registering it here is one line. The framework lives beside them: `base`
(Claim, Evidence, Control, Condition, the verdict rule), `accuracy` (statistics over seeds and
examples, and the one "best within a margin on validation" rule), `context` (what a check may
use), `record` (the typed claims.json record) and `runner` (check_claims).
"""

from __future__ import annotations

from ..errors import ConfigError
from . import gomez, knodt, kubo, molchanov, song
from .base import Claim, Paper

PAPERS: list[Paper] = [kubo.PAPER, song.PAPER, molchanov.PAPER, gomez.PAPER, knodt.PAPER]
CLAIMS: list[Claim] = [claim for paper in PAPERS for claim in paper.claims]


def get_claims(only: list[str] | None = None) -> list[Claim]:
    """The registered claims, or those named (ConfigError names the known ones)."""
    if not only:
        return list(CLAIMS)
    known = {c.id: c for c in CLAIMS}
    unknown = [i for i in only if i not in known]
    if unknown:
        raise ConfigError(f"unknown claim {unknown[0]!r}; known claims: {', '.join(known)}")
    return [known[i] for i in only]


__all__ = ["CLAIMS", "PAPERS", "Claim", "Paper", "get_claims"]
