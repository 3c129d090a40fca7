"""A validated plan as what runs: its `RunSpec`s and its claims bound to its runs."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from ..claims import CLAIMS
from ..claims.context import PlanChecks
from ..errors import ConfigError
from ..runs import RunSpec
from ..schemas.plan import PlanSchema
from ..train import TrainConfig
from .checks import check_plan
from .files import overridden, plan_sha256, read_plan


def run_specs(plan: PlanSchema) -> list[RunSpec]:
    """One RunSpec per run, with the plan's data where the run pins none."""
    return [
        RunSpec(run.name, run.method, dict(run.params), run.model, run.data or plan.data, tuple(run.hidden) if run.hidden else None,
                TrainConfig(**run.train.model_dump()), tuple(run.seeds))
        for run in plan.runs
    ]


def plan_checks(plan: PlanSchema, only: list[str] | None = None) -> PlanChecks:
    """The claims the plan checks (or those of them named in `only`), each bound to the plan's runs."""
    known = {claim.id: claim for claim in CLAIMS}
    unknown = [claim_id for claim_id in only or [] if claim_id not in plan.claims]
    if unknown:
        raise ConfigError(f"unknown claim {unknown[0]!r} in plan {plan.name!r}; it checks: {', '.join(plan.claims) or 'none'}")
    claims = tuple(
        replace(known[claim_id], runs={role: binding if isinstance(binding, str) else tuple(binding) for role, binding in roles.items()})
        for claim_id, roles in plan.claims.items() if not only or claim_id in only
    )
    return PlanChecks(plan.name, plan_sha256(plan), plan.min_seeds, claims)


def load_plan(source: str, seeds: Sequence[int] | None = None, data: str | None = None) -> PlanSchema:
    """A built-in plan or a plan file with --seeds and --data applied, checked against the schema,
    the catalogue and the user's data files: all before anything trains."""
    plan = overridden(read_plan(source), seeds, data)
    check_plan(plan, source)
    return plan


def baseline_for(spec: RunSpec, specs: list[RunSpec]) -> RunSpec | None:
    """The dense run with the same model, data and widths (None for the dense run itself)."""
    for other in specs:
        if other.method == "dense" and (other.model, other.data, other.hidden) == (spec.model, spec.data, spec.hidden):
            return None if other is spec else other
    return None
