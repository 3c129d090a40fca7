import json
import os

import pytest
from conftest import assert_one_line_error

from dropbench.errors import ProfileError
from dropbench.profiles import (
    default_profile,
    fingerprint,
    list_profiles,
    load_profile,
    load_profile_file,
)


def test_shipped_profiles():
    names = {p.name for p in list_profiles()}
    assert {"cpu-1thread", "cpu-2thread", "gpu-h100", "gpu-h200"} <= names
    assert load_profile("cpu-2thread").threads == 2
    assert load_profile("gpu-h200").device == "cuda"


def test_default_profile_fits_this_machine():
    profile = default_profile()
    assert profile.unavailable_reason() is None
    assert profile.device == "cuda" or profile.threads <= os.cpu_count()


@pytest.mark.parametrize(
    "body,message",
    [
        ("{nope", "not valid JSON"),
        ('["cpu"]', "JSON object"),
        ('{"name": "x", "device": "cpu"}', "field 'threads': Field required"),
        ('{"name": "x", "device": "tpu", "threads": 1}', "field 'device': Input should be 'cpu' or 'cuda'"),
        ('{"name": "x", "device": "cpu", "threads": 0}', "field 'threads': Input should be greater than or equal to 1"),
        ('{"name": "x", "device": "cpu", "threads": 1, "batch_sizes": []}', "batch_sizes"),
        ('{"name": "x", "device": "cpu", "threads": 1, "colour": "red"}', "field 'colour': Extra inputs are not permitted"),
        ('{"name": "x", "device": "cpu", "threads": 1, "ort_providers": ["CUDAExecutionProvider"]}', "cannot use CUDAExecutionProvider"),
    ],
)
def test_invalid_profiles(tmp_path, cli, body, message):
    path = tmp_path / "bad.json"
    path.write_text(body)
    with pytest.raises(ProfileError, match=message.replace("(", r"\(").replace("[", r"\[")):
        load_profile_file(path)
    assert_one_line_error(cli("profile", "validate", path), message)


@pytest.mark.parametrize(
    "fields,message",
    [
        ({"device": "cpu", "ort_spinning": "yes"}, "field 'ort_spinning': Input should be a valid boolean"),
        ({"device": "cpu", "ort_spinning": 1}, "field 'ort_spinning': Input should be a valid boolean"),
        ({"device": "cuda", "ort_providers": ["CUDAExecutionProvider"], "ort_spinning": True},
         "field 'ort_spinning': spinning is a setting of the threads of CPUExecutionProvider"),
    ],
)
def test_a_bad_spinning_setting_is_one_line_naming_the_file_and_the_field(tmp_path, cli, fields, message):
    path = tmp_path / "spin.json"
    path.write_text(json.dumps({"name": "spin", "threads": 1, **fields}))
    assert_one_line_error(cli("profile", "validate", path), f"invalid profile {path}", message)


def test_spinning_is_onnxruntimes_default_unless_a_profile_turns_it_off(tmp_path):
    assert all(p.ort_spinning for p in list_profiles())
    path = tmp_path / "quiet.json"
    path.write_text(json.dumps({"name": "quiet", "device": "cpu", "threads": 2, "ort_spinning": False}))
    profile = load_profile_file(path)
    assert not profile.ort_spinning and profile.timing_settings() == {"threads": 2, "ort_spinning": False}
    cuda_only = tmp_path / "cuda.json"  # left out, the default does not count as asking for it
    cuda_only.write_text(json.dumps({"name": "cuda", "device": "cuda", "threads": 1, "ort_providers": ["CUDAExecutionProvider"]}))
    assert load_profile_file(cuda_only).ort_spinning


def test_valid_profile_file(tmp_path, cli):
    path = tmp_path / "mine.json"
    path.write_text(json.dumps({"name": "mine", "device": "cpu", "threads": 1, "batch_sizes": [8]}))
    result = cli("profile", "validate", path)
    assert result.code == 0 and "valid" in result.out


def test_unknown_profile_and_cuda_on_cpu(cli, tiny_run):
    assert_one_line_error(cli("bench", tiny_run, "--profile", "tpu-v9"), "unknown profile 'tpu-v9'")
    if fingerprint()["gpu"] is None:
        assert_one_line_error(cli("bench", tiny_run, "--profile", "gpu-h100"), "needs CUDA")


def test_detect_prints_the_fingerprint(cli):
    result = cli("profile", "detect")
    info = json.loads(result.out)
    for key in ("cpu", "cores_logical", "ram_gb", "torch", "onnxruntime", "gpu", "default_profile"):
        assert key in info
    listed = cli("profile", "list")
    assert "cpu-2thread" in listed.out and "gpu-h200" in listed.out
