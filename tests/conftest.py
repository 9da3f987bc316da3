"""Test-wide fixtures: every test starts from the same torch global RNG state.

edgesim itself never draws from torch's global generator (its streams are seeded from the scenario), but
a test that builds a layer with torch's default initialisation does. Seeding before each test keeps such a
test's numbers independent of which tests ran before it in the same process, which pytest-xdist varies
from run to run.
"""

import pytest
import torch


@pytest.fixture(autouse=True)
def _torch_global_rng_reset():
    torch.manual_seed(0)
