"""What a plan the schema accepted must also pass before anything trains: the catalogue (methods and
their parameters, models), the claims and their roles, and the user's data files. Torch-free, so
`dropbench plan validate` answers at once."""

from __future__ import annotations

from ..catalog import METHOD_CONFIGS, MODELS, method_config, training_cases
from ..data import INSTALLED, load_dataset
from ..errors import ConfigError, DataError
from ..schemas.plan import DATA_FILE_KINDS, PlanSchema

# each claim's roles, torch-free: the runs its check reads, which a plan binds (`[claims.ID]`); claims.CLAIMS agrees (tests/test_plans.py)
CLAIM_ROLES: dict[str, tuple[str, ...]] = {
    "kubo2016-runtime": ("dense", "dropout", "sweep"),
    "song2018-mlp-training": ("dropout", "approximate-random"),
    "song2018-lstm-training": ("dropout", "approximate-random"),
    "molchanov2017-lenet300": ("dense", "candidates"),
    "molchanov2017-lenet5": ("dense", "candidates"),
    "gomez2019-pruning": ("targeted", "dropout", "dense", "regulariser"),
    "knodt2022-width": ("structural", "dense", "dropout"),
}


def check_plan(plan: PlanSchema, source: str) -> None:
    """What a plan the schema accepted must also pass before anything trains: the catalogue, the claims' roles and the user's data files."""
    check_registries(plan, source)
    for spec in sorted({run.data or plan.data for run in plan.runs}):
        if spec.startswith(DATA_FILE_KINDS) or spec in INSTALLED:  # data read from files, the installed ones checked against their hashes
            try:
                load_dataset(spec)  # DataError names the file and the place; kept in memory for the training
            except DataError as e:
                then = f"; {plan.data_help}" if plan.data_help and spec == plan.data else ""
                raise DataError(f"{e}{then}") from None


def check_registries(plan: PlanSchema, source: str) -> None:
    """What the schema leaves to the catalogue: each run's method, its parameters and its model;
    the asv training cases; each claim's id and roles (every role bound, no other). ConfigError
    names the file and field."""
    for i, run in enumerate(plan.runs):
        where = f"{source}: field runs[{i}] ({run.name!r})"
        try:
            method_config(run.method, dict(run.params))
        except ConfigError as e:
            raise ConfigError(f"{where}.{'params' if run.method in METHOD_CONFIGS else 'method'}: {e}") from None
        if run.model not in MODELS:
            raise ConfigError(f"{where}.model: unknown model {run.model!r}; choose one of: {', '.join(MODELS)}")
    unknown = next((case for case in plan.asv_training or [] if case not in training_cases()), None)
    if unknown:
        raise ConfigError(f"{source}: field asv_training: unknown training case {unknown!r}; the cases: {', '.join(training_cases())}")
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
