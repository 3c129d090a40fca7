"""Plans: the runs `reproduce`, the claims and the asv suites train, and the claims they check.

A plan is a TOML file (`dropbench plan show quick > my-plan.toml`): its runs (method and
parameters, model, widths, data, training config, seeds), the claims it checks with their roles
bound to its runs, the seeds a verdict needs, and the profiles. The built-in ones are `quick.toml`,
`full.toml` and `paper.toml` beside this module, written as `plan show` writes them.

- `files`: read and validate a plan (schemas/plan.py), apply --seeds / --data, its SHA-256; torch-free.
- `toml`: write one.
- `checks`: the checks against the catalogue (methods and parameters, models), the claims' roles and
  the user's data files; torch-free.
- `specs`: a plan as RunSpecs and bound claims.

This module imports nothing, so `dropbench plan show` and `plan validate` load no torch.
"""
