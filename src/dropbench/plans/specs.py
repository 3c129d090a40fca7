"""A validated plan as what runs: its `RunSpec`s, its claims bound to its runs, and the registry
checks the schema cannot make without torch (method names and parameters, models, claims and
their roles)."""

from __future__ import annotations

from dataclasses import replace
from typing import Sequence

from ..claims import CLAIMS
from ..claims.context import PlanChecks
from ..data import load_dataset
from ..errors import ConfigError, DataError
from ..methods import METHODS, get_method
from ..models import MODELS
from ..runs import RunSpec
from ..schemas.plan import DATA_FILE_KINDS, PlanSchema
from ..train import TrainConfig
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


def check_registries(plan: PlanSchema, source: str) -> None:
    """What the schema cannot check without the registries: each run's method, its parameters and
    its model; each claim's id and roles (every role bound, no other). ConfigError names the file and field."""
    for i, run in enumerate(plan.runs):
        where = f"{source}: field runs[{i}] ({run.name!r})"
        try:
            get_method(run.method, dict(run.params))
        except ConfigError as e:
            raise ConfigError(f"{where}.{'params' if run.method in METHODS else 'method'}: {e}") from None
        if run.model not in MODELS:
            raise ConfigError(f"{where}.model: unknown model {run.model!r}; choose one of: {', '.join(MODELS)}")
    known = {claim.id: claim for claim in CLAIMS}
    for claim_id, roles in plan.claims.items():
        if claim_id not in known:
            raise ConfigError(f"{source}: field claims.{claim_id}: unknown claim; known claims: {', '.join(known)}")
        declared = list(known[claim_id].runs)
        unbound = [role for role in declared if role not in roles]
        if unbound:
            raise ConfigError(f"{source}: field claims.{claim_id}.{unbound[0]}: role left unbound; bind every role of the claim: {', '.join(declared)}")
        extra = [role for role in roles if role not in declared]
        if extra:
            raise ConfigError(f"{source}: field claims.{claim_id}.{extra[0]}: the claim has no such role; its roles: {', '.join(declared)}")


def load_plan(source: str, seeds: Sequence[int] | None = None, data: str | None = None) -> PlanSchema:
    """A built-in plan or a plan file with --seeds and --data applied, checked against the schema,
    the registries and the user's data files: all before anything trains."""
    plan = overridden(read_plan(source), seeds, data)
    check_plan(plan, source)
    return plan


def check_plan(plan: PlanSchema, source: str) -> None:
    """What a plan the schema accepted must also pass before anything trains: the registries and the user's data files."""
    check_registries(plan, source)
    for spec in sorted({run.data or plan.data for run in plan.runs}):
        if spec.startswith(DATA_FILE_KINDS):
            try:
                load_dataset(spec)  # DataError names the file and the place; kept in memory for the training
            except DataError as e:
                then = f"; {plan.data_help}" if plan.data_help and spec == plan.data else ""
                raise DataError(f"{e}{then}") from None


def baseline_for(spec: RunSpec, specs: list[RunSpec]) -> RunSpec | None:
    """The dense run with the same model, data and widths (None for the dense run itself)."""
    for other in specs:
        if other.method == "dense" and (other.model, other.data, other.hidden) == (spec.model, spec.data, spec.hidden):
            return None if other is spec else other
    return None
