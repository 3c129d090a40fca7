"""pytest plugin (entry point `pytest11`, installed with dropbench): dropbench runners in your own benchmarks.

    def test_small_is_fast(benchmark, dropbench_runner):
        benchmark(dropbench_runner("runs/small", runtime="onnxruntime", batch=64))

`dropbench_runner(path, runtime=..., batch=..., shape=...)` loads a checkpoint directory or any ONNX
file and returns a ready runner on the session's hardware profile (`--dropbench-profile NAME`,
else $DROPBENCH_PROFILE, else the detected one), threads set as the profile says. The profile and
dropbench's machine fingerprint go into pytest-benchmark's machine info (so `--benchmark-compare`
warns, in one line, when the saved run comes from another profile or machine), and each benchmark's extra info names
the profile, model, runtime, batch and compile time. A runtime that cannot run here (torch-compile
without a C++ compiler) skips the test with its reason; any other dropbench error fails it with
its one-line message.
"""

from __future__ import annotations

import json
from pathlib import Path
from typing import Callable, Iterator

import pytest

from .errors import DropbenchError
from .profiles import Profile, default_profile, fingerprint, load_profile
from .runtimes import Runner, RuntimeUnavailable, make_runner, profile_threads, synced
from .runtimes.loading import load_model


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.getgroup("dropbench").addoption(
        "--dropbench-profile", metavar="NAME", help="hardware profile of the dropbench_runner fixture (default: $DROPBENCH_PROFILE, else detected)"
    )


def session_profile(config: pytest.Config) -> Profile:
    name = config.getoption("--dropbench-profile")
    return (load_profile(name) if name else default_profile()).require_available()


@pytest.hookimpl(optionalhook=True)  # pytest-benchmark may not be installed
def pytest_benchmark_update_machine_info(config: pytest.Config, machine_info: dict) -> None:
    try:
        profile = session_profile(config).as_dict()
    except DropbenchError as e:
        profile = {"error": str(e)}
    machine_info["dropbench"] = {"profile": profile, "fingerprint": fingerprint()}


@pytest.hookimpl(optionalhook=True, wrapper=True)
def pytest_benchmark_compare_machine_info(benchmarksession, machine_info: dict, compared_benchmark: dict) -> Iterator[None]:
    """pytest-benchmark's own check dumps both machine infos whole (kilobytes of JSON) when any key
    differs; say what differs in one line instead, and let its check see nothing to report."""
    saved = compared_benchmark["machine_info"]
    differences = machine_differences(saved, machine_info)
    if differences:
        benchmarksession.logger.warning(f"dropbench: the saved run was timed on another machine or profile: {differences}")
    compared_benchmark["machine_info"] = machine_info
    try:
        return (yield)
    finally:
        compared_benchmark["machine_info"] = saved


FIRST_SHOWN = (
    "dropbench.profile.name", "dropbench.profile.threads", "dropbench.fingerprint.cpu", "dropbench.fingerprint.cores_physical",
    "dropbench.fingerprint.ram_gb", "dropbench.fingerprint.gpu", "dropbench.fingerprint.torch", "dropbench.fingerprint.onnxruntime",
)
SHOWN = 4  # differences written out; the rest are counted


def machine_differences(saved: dict, now: dict) -> str:
    """'key: saved -> now' for the first differing keys of two machine infos (dropbench's profile
    and hardware first), '' when they are the same."""
    before, after = (_flat(json.loads(json.dumps(info, default=str))) for info in (saved, now))  # as saved: tuples are lists
    first = lambda k: (FIRST_SHOWN.index(k) if k in FIRST_SHOWN else len(FIRST_SHOWN), k)  # noqa: E731
    keys = sorted((k for k in before.keys() | after.keys() if before.get(k) != after.get(k)), key=first)
    shown = "; ".join(f"{k}: {_short(before.get(k))} -> {_short(after.get(k))}" for k in keys[:SHOWN])
    return shown + (f"; and {len(keys) - SHOWN} more" if len(keys) > SHOWN else "")


def _flat(info: dict, prefix: str = "") -> dict[str, object]:
    """Nested dictionaries as one, keyed by dotted paths."""
    flat: dict[str, object] = {}
    for key, value in info.items():
        if isinstance(value, dict):
            flat.update(_flat(value, f"{prefix}{key}."))
        else:
            flat[f"{prefix}{key}"] = value
    return flat


def _short(value: object, width: int = 40) -> str:
    text = "(none)" if value is None else str(value)
    return text if len(text) <= width else text[: width - 3] + "..."


@pytest.fixture(scope="session")
def dropbench_profile(pytestconfig: pytest.Config) -> Profile:
    """The hardware profile this session times on."""
    try:
        return session_profile(pytestconfig)
    except DropbenchError as e:
        pytest.fail(f"dropbench: {e}", pytrace=False)


@pytest.fixture
def dropbench_runner(request: pytest.FixtureRequest, dropbench_profile: Profile) -> Iterator[Callable[..., Runner]]:
    """A factory: dropbench_runner(path, runtime="onnxruntime", batch=64, shape=None) -> a runner of one batch.

    The profile's threads hold for the whole test (the runners it makes are built and then timed
    in it, by `benchmark`); the previous thread count comes back after the test."""
    benchmark = request.getfixturevalue("benchmark") if "benchmark" in request.fixturenames else None

    def make(path: str | Path, runtime: str = "onnxruntime", batch: int = 64, shape: dict[str, tuple[int, ...]] | None = None) -> Runner:
        try:
            model = load_model(Path(path), shape)
            runner = make_runner(runtime, model, batch, dropbench_profile)
        except RuntimeUnavailable as e:
            raise pytest.skip.Exception(str(e)) from None
        except DropbenchError as e:  # the one-line message, not dropbench's traceback
            raise pytest.fail.Exception(f"dropbench: {e}", pytrace=False) from None
        if benchmark is not None:
            benchmark.extra_info.update(
                {"dropbench_profile": dropbench_profile.name, "model": str(path), "runtime": runtime, "batch": batch, "compile_s": runner.compile_s}
            )
        return synced(runner, dropbench_profile)

    with profile_threads(dropbench_profile):
        yield make
