"""The asv files `history`, `compare-profiles` and `asv-machine` read: the fields of asv.conf.json
dropbench uses, benchmarks.json, each machine's machine.json and results files (asv's format
version 2). A results folder is tracked in git and shared, and asv's own reader trusts what it
reads, so dropbench reads each file within limits and checks it here before a field is used.
"""

from __future__ import annotations

import re
from typing import Annotated, Any, Literal, Optional, Union

from pydantic import AfterValidator, Field, StringConstraints, model_validator

from .manifest import Strict
from .profile import ProfileName
from .records import Name

# what to do about an asv file that is not as asv writes it (the error's last words)
NOT_AS_ASV_WRITES = "this file is not as asv writes it: record it again with `asv run`, or remove it"

MACHINE_NAME = r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$"  # as `dropbench asv-machine` names one: a folder of the results, never a path
MachineName = Annotated[str, StringConstraints(pattern=MACHINE_NAME)]
Commit = Annotated[str, StringConstraints(pattern=r"^[0-9a-f]{7,64}$")]
Fact = Optional[Name]  # asv writes a machine's facts as strings


def _regex(text: str) -> str:
    try:
        re.compile(text)
    except re.error as e:
        raise ValueError(f"{text!r} is not a regular expression ({e})") from None
    return text


class AsvConfig(Strict):
    """The fields of asv.conf.json dropbench reads (asv's defaults where absent)."""

    version: Literal[1]
    results_dir: Name = "results"
    benchmark_dir: Name = "benchmarks"
    # a figure's regex -> the relative step that counts as its regression
    regressions_thresholds: dict[Annotated[Name, AfterValidator(_regex)], Annotated[float, Field(ge=0, le=100, allow_inf_nan=False)]] = {}


class Facts(Strict):
    """What a machine is: its name, the profile it times and the facts profiles.Hardware reads."""

    machine: MachineName
    dropbench_profile: Optional[ProfileName] = None  # machines registered before it was a fact are named after their profile
    cpu: Fact = None
    cpu_id: Fact = None
    cores_physical: Fact = None
    cores_logical: Fact = None
    num_cpu: Fact = None
    ram_gb: Fact = None


class AsvMachine(Facts):
    """A machine folder's machine.json."""

    version: Literal[1]


class Benchmark(Strict):
    """One benchmark of benchmarks.json: the names of its parameters, its unit and the version of its code."""

    param_names: Annotated[list[Name], Field(max_length=64)] = []
    unit: Annotated[str, StringConstraints(max_length=64)] = ""
    version: Optional[Name] = None


class AsvIndex(Strict):
    """benchmarks.json: the format's version and every benchmark by name."""

    version: Literal[2]
    benchmarks: dict[Name, Benchmark]

    @model_validator(mode="before")
    @classmethod
    def _by_name(cls, raw: Any) -> Any:
        """asv keeps the benchmarks beside "version" at the top level."""
        if isinstance(raw, dict):
            return {"version": raw.get("version"), "benchmarks": {k: v for k, v in raw.items() if k != "version"}}
        return raw


class Row(Strict):
    """A benchmark's columns of a results file that dropbench reads: its values over the grid of its
    parameters (each parameter's values as their repr), and the version of the code that gave them."""

    result: Union[None, float, Annotated[list[Optional[float]], Field(max_length=1_000_000)]] = None  # NaN: no value
    params: Annotated[list[Annotated[list[Name], Field(max_length=10_000)]], Field(max_length=64)] = []
    version: Optional[Name] = None


class AsvResults(Strict):
    """One results file: the values of one machine, commit and environment."""

    version: Literal[2]
    commit_hash: Commit
    env_name: Name
    date: Optional[Annotated[int, Field(ge=0, le=10**15)]] = None  # the commit's date, ms since the epoch
    params: Facts
    result_columns: list[Name]
    results: dict[Name, Row]

    @model_validator(mode="before")
    @classmethod
    def _rows_by_column(cls, raw: Any) -> Any:
        """asv keeps each benchmark's row as a list in the order of result_columns."""
        columns = raw.get("result_columns") if isinstance(raw, dict) else None
        if not (isinstance(columns, list) and all(isinstance(c, str) for c in columns) and isinstance(raw.get("results"), dict)):
            return raw
        return {**raw, "results": {name: dict(zip(columns, row)) if isinstance(row, list) else row for name, row in raw["results"].items()}}
