"""Threads through a context manager: torch's intra-op threads are the block's, then the previous count again."""

from __future__ import annotations

import pytest
import torch

from dropbench.profiles import load_profile
from dropbench.runtimes import profile_threads, torch_threads


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
