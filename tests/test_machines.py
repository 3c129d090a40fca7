"""dropbench asv-machine: a profile on one kind of hardware, never a name recorded on another."""

from __future__ import annotations

import json
from pathlib import Path

import pytest
import torch

from dropbench import machines
from dropbench.cli import main
from dropbench.machines import cpu_slug, machine_name
from dropbench.profiles import Hardware, hardware

NO_CUDA = pytest.mark.skipif(torch.cuda.is_available(), reason="checks the CPU-only path")
EPYC = Hardware("AMD EPYC 7B13", 2, 24)
XEON = Hardware("Intel(R) Xeon(R) CPU @ 2.20GHz", 2, 24)


@pytest.mark.parametrize("cpu, slug", [
    ("AMD EPYC 7B13", "amd-epyc-7b13"),
    ("AMD EPYC 7B13 64-Core Processor", "amd-epyc-7b13"),
    ("Intel(R) Xeon(R) CPU @ 2.20GHz", "intel-xeon"),
    ("Intel(R) Xeon(R) Platinum 8375C CPU @ 2.90GHz", "intel-xeon-platinum-8375c"),
    ("13th Gen Intel(R) Core(TM) i7-13700K", "13th-gen-intel-core-i7-13700k"),
    ("Apple M2", "apple-m2"),
    ("", "unknown-cpu"),
    ("../../etc/passwd", "etc-passwd"),
])
def test_cpu_slug_is_short_and_filesystem_safe(cpu, slug):
    assert cpu_slug(cpu) == slug


def test_a_long_cpu_name_is_cut_at_a_word():
    slug = cpu_slug("AMD Ryzen 9 7950X3D 16-Core Processor with Radeon Graphics and more words")
    assert slug == "amd-ryzen-9-7950x3d-with-radeon" and len(slug) <= machines.CPU_SLUG_MAX


def test_machine_name_carries_profile_cpu_and_cores():
    assert machine_name("cpu-2thread", EPYC) == "cpu-2thread-amd-epyc-7b13-2c"
    assert machine_name("cpu-2thread", XEON) == "cpu-2thread-intel-xeon-2c"
    assert machine_name("cpu-2thread", Hardware("AMD EPYC 7B13", 4, 24)) == "cpu-2thread-amd-epyc-7b13-4c"
    assert machine_name("cpu-2thread", Hardware("AMD EPYC", 2, 24, "26/2")) == "cpu-2thread-amd-epyc-f26m2-2c"


def test_one_cpu_name_of_two_families_is_two_kinds_of_hardware():
    """VMs call several EPYC generations "AMD EPYC"; the family and model tell them apart."""
    facts = {"cpu": "AMD EPYC", "cores_physical": "2", "ram_gb": "23.5"}
    assert Hardware.of({**facts, "cpu_id": "26/2"}) != Hardware.of({**facts, "cpu_id": "25/1"})
    assert Hardware.of({**facts, "cpu_id": "26/2"}).label == "AMD EPYC (family/model 26/2), 2 cores, 24 GiB"


def test_hardware_from_asv_facts_rounds_memory_to_whole_gib():
    """Two instances of one type report totals a megabyte apart: still one kind of hardware."""
    facts = {"cpu": "AMD EPYC", "cores_physical": "2", "ram_gb": "23.5", "num_cpu": "2"}
    assert Hardware.of(facts) == Hardware.of({**facts, "ram_gb": "23.6"}) == Hardware("AMD EPYC", 2, 24)
    assert Hardware.of({"machine": "m"}) == Hardware("", None, None)
    assert Hardware.of(facts).label == "AMD EPYC, 2 cores, 24 GiB"


def record_machine(results: Path, name: str, facts: dict) -> None:
    """An asv machine.json as asv writes it: every fact a string."""
    (results / name).mkdir(parents=True)
    (results / name / "machine.json").write_text(json.dumps({"machine": name, **facts, "version": 1}))


def here_facts() -> dict:
    h = hardware()
    return {"cpu": h.cpu, "cpu_id": h.cpu_id, "cores_physical": str(h.cores), "ram_gb": str(h.ram_gib)}


def test_asv_machine_registers_the_profile_on_this_cpu(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    name = machine_name("cpu-1thread", hardware())
    assert main(["asv-machine", "cpu-1thread", "--results", str(tmp_path / "results")]) == 0
    entry = json.loads((tmp_path / ".asv-machine.json").read_text())[name]
    assert (entry["machine"], entry["dropbench_profile"], entry["cpu"]) == (name, "cpu-1thread", hardware().cpu)
    assert f"DROPBENCH_PROFILE=cpu-1thread asv run --machine {name}" in capsys.readouterr().out
    assert main(["asv-machine", "cpu-1thread", "--quiet", "--results", str(tmp_path / "results")]) == 0
    assert capsys.readouterr().out == f"{name}\n"


def test_the_same_hardware_may_record_again(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    name = machine_name("cpu-1thread", hardware())
    record_machine(tmp_path / "results", name, here_facts())
    assert main(["asv-machine", "cpu-1thread", "--results", str(tmp_path / "results")]) == 0


@pytest.mark.parametrize("recorded_as, own", [(None, True), ("cpu-1thread", False)])
def test_a_name_recorded_on_another_cpu_is_refused(monkeypatch, tmp_path, capsys, recorded_as, own):
    """The machine's own name (here a slug collision) or a --name, recorded on an Intel Xeon."""
    monkeypatch.setenv("HOME", str(tmp_path))
    name = recorded_as or machine_name("cpu-1thread", hardware())
    record_machine(tmp_path / "results", name, {"cpu": XEON.cpu, "cores_physical": "2", "ram_gb": "24"})
    args = ["asv-machine", "cpu-1thread", "--results", str(tmp_path / "results")] + ([] if own else ["--name", name])
    assert main(args) == 2
    err = capsys.readouterr().err
    assert err.startswith("error: ") and len(err.strip().splitlines()) == 1 and "Traceback" not in err
    assert f"asv machine {name!r} was recorded on {XEON.label}" in err and f"this machine is {hardware().label}" in err
    assert ("--name" in err) if own else (machine_name("cpu-1thread", hardware()) in err)
    assert not (tmp_path / ".asv-machine.json").exists()


@pytest.mark.parametrize("args, message", [
    (["asv-machine", "no-such-profile", "--results", "r"], "unknown profile 'no-such-profile'"),
    (["asv-machine", "cpu-1thread", "--name", "../x", "--results", "r"], "asv machine name '../x' must be"),
    (["asv-machine", "cpu-1thread", "--config", "missing.json"], "no asv configuration at missing.json"),
])
def test_bad_input_is_one_line_and_exit_2(monkeypatch, tmp_path, capsys, args, message):
    monkeypatch.setenv("HOME", str(tmp_path))
    monkeypatch.chdir(tmp_path)
    assert main(args) == 2
    err = capsys.readouterr().err
    assert message in err and len(err.strip().splitlines()) == 1


@NO_CUDA
def test_asv_machine_refuses_a_gpu_profile_without_cuda(monkeypatch, tmp_path, capsys):
    monkeypatch.setenv("HOME", str(tmp_path))
    assert main(["asv-machine", "gpu-h200", "--results", str(tmp_path / "results")]) == 2
    assert "needs CUDA" in capsys.readouterr().err and not (tmp_path / ".asv-machine.json").exists()


def test_facts_that_are_not_numbers_count_as_unknown():
    assert Hardware.of({"cpu": "X", "cores_physical": "two", "ram_gb": "nan"}) == Hardware("X", None, None)
    assert Hardware.of({"cpu": "X", "cores_physical": [2], "ram_gb": "inf"}) == Hardware("X", None, None)
