import pytest

from stacks.engine_holdings import Holdings
from tests.support.compose import use_compose_binary

use_compose_binary()


@pytest.fixture(autouse=True)
def an_empty_engine(request: pytest.FixtureRequest, monkeypatch: pytest.MonkeyPatch) -> None:
    """Outside the real-engine tests (marked `docker`) a local stack's engine holds nothing: the program
    reads what other stacks hold on it each time it runs (stacks/engine_holdings.py), and under mocks this
    machine's engine is not the one it describes. test_engine_holdings.py gives it what it holds."""
    if request.node.get_closest_marker("docker") is None:
        monkeypatch.setattr("stacks.config.read_holdings", lambda cfg, url: Holdings())
