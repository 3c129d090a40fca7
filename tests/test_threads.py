"""Threads through a context manager: torch's intra-op threads are the block's, then the previous count again;
onnxruntime's threads and spinning are the profile's."""

from __future__ import annotations

from dataclasses import replace

import pytest
import torch

from dropbench.checkpoint import ONNX
from dropbench.profiles import load_profile
from dropbench.runtimes import profile_threads, torch_threads
from dropbench.runtimes.onnxruntime import ort_session


def test_the_previous_thread_count_comes_back_after_the_block_also_when_it_raises():
    before = torch.get_num_threads()
    with torch_threads(3):  # an outer count to come back to
        with torch_threads(1):
            assert torch.get_num_threads() == 1
        assert torch.get_num_threads() == 3
        with pytest.raises(RuntimeError, match="boom"):
            with torch_threads(1):
                raise RuntimeError("boom")
        assert torch.get_num_threads() == 3
        with profile_threads(load_profile("cpu-2thread")):
            assert torch.get_num_threads() == 2
        assert torch.get_num_threads() == 3
    assert torch.get_num_threads() == before


def test_an_onnxruntime_session_spins_as_onnxruntime_does_unless_the_profile_turns_it_off(tiny_run):
    deployed = load_profile("cpu-2thread")
    for profile, spinning in ((deployed, "1"), (replace(deployed, ort_spinning=False), "0")):
        options = ort_session(tiny_run / ONNX, profile).get_session_options()
        assert options.get_session_config_entry("session.intra_op.allow_spinning") == spinning
        assert options.intra_op_num_threads == 2
