"""What a plan the schema accepted must also pass before anything trains: the catalogue (methods and
their parameters, models, claims and their roles) and the user's data files. Torch-free, so
`dropbench plan validate` answers at once."""

from __future__ import annotations

from ..catalog import CLAIM_ROLES, METHOD_CONFIGS, MODELS, method_config
from ..data import load_dataset
from ..errors import ConfigError, DataError
from ..schemas.plan import DATA_FILE_KINDS, PlanSchema


def check_plan(plan: PlanSchema, source: str) -> None:
    """What a plan the schema accepted must also pass before anything trains: the catalogue and the user's data files."""
    check_registries(plan, source)
    for spec in sorted({run.data or plan.data for run in plan.runs}):
        if spec.startswith(DATA_FILE_KINDS):
            try:
                load_dataset(spec)  # DataError names the file and the place; kept in memory for the training
            except DataError as e:
                then = f"; {plan.data_help}" if plan.data_help and spec == plan.data else ""
                raise DataError(f"{e}{then}") from None


def check_registries(plan: PlanSchema, source: str) -> None:
    """What the schema leaves to the catalogue: each run's method, its parameters and its model;
    each claim's id and roles (every role bound, no other). ConfigError names the file and field."""
    for i, run in enumerate(plan.runs):
        where = f"{source}: field runs[{i}] ({run.name!r})"
        try:
            method_config(run.method, dict(run.params))
        except ConfigError as e:
            raise ConfigError(f"{where}.{'params' if run.method in METHOD_CONFIGS else 'method'}: {e}") from None
        if run.model not in MODELS:
            raise ConfigError(f"{where}.model: unknown model {run.model!r}; choose one of: {', '.join(MODELS)}")
    for claim_id, roles in plan.claims.items():
        if claim_id not in CLAIM_ROLES:
            raise ConfigError(f"{source}: field claims.{claim_id}: unknown claim; known claims: {', '.join(CLAIM_ROLES)}")
        declared = CLAIM_ROLES[claim_id]
        unbound = [role for role in declared if role not in roles]
        if unbound:
            raise ConfigError(f"{source}: field claims.{claim_id}.{unbound[0]}: role left unbound; bind every role of the claim: {', '.join(declared)}")
        extra = [role for role in roles if role not in declared]
        if extra:
            raise ConfigError(f"{source}: field claims.{claim_id}.{extra[0]}: the claim has no such role; its roles: {', '.join(declared)}")
