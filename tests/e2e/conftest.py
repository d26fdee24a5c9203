import pytest
import torch


@pytest.fixture
def one_thread():
    """Tests that compare numbers across processes run torch on one thread (as the children do)."""
    before = torch.get_num_threads()
    torch.set_num_threads(1)
    yield
    torch.set_num_threads(before)
