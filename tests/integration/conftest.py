"""pytest glue for harness.py: the `suite` fixture.

    def test_x(suite): ...                         # membership, no faults
    @pytest.mark.suite(faults="redis.delay_ms=500", env={"COMPACT_MAX_CALLS": "2"})
    def test_y(suite): ...

The marker's keyword arguments go to harness.Suite. On a failed test the
services' stderr is printed (pytest shows it); at teardown every service must
exit 0 on SIGTERM with no sanitizer report, or the test errors.

When the test itself decides how to start the system (a parametrized test
whose services differ per case), `suite_factory` starts it:

    def test_z(suite_factory, name):
        s = suite_factory(services=PEERS[name] + (name,), env={...})

with the same keyword arguments and the same teardown as `suite`.
"""
import os
import sys

import pytest

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))

import harness  # noqa: E402


def pytest_configure(config):
    config.addinivalue_line(
        "markers", "suite(services=..., faults=..., env=..., wait=...): "
        "how the `suite` fixture starts the system (see harness.Suite)")


@pytest.hookimpl(tryfirst=True, hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    setattr(item, "rep_" + rep.when, rep)


@pytest.fixture
def suite(request):
    marker = request.node.get_closest_marker("suite")
    kwargs = dict(marker.kwargs) if marker else {}
    s = harness.Suite(**kwargs)
    s.__enter__()
    try:
        yield s
    finally:
        rep = getattr(request.node, "rep_call", None)
        problem = None
        try:
            s.close(test_failed=rep is None or rep.failed)
        except AssertionError as e:
            problem = str(e)
        if problem:
            # A service that exits non-zero or with a sanitizer report fails
            # the test; the report is the message, the traceback is noise.
            pytest.fail(problem, pytrace=False)


@pytest.fixture
def suite_factory(request):
    """Starts harness.Suite(**kwargs) on call; every suite started is closed
    at teardown with the checks of the `suite` fixture."""
    started = []

    def make(**kwargs):
        s = harness.Suite(**kwargs)
        s.__enter__()
        started.append(s)
        return s

    yield make
    rep = getattr(request.node, "rep_call", None)
    problems = []
    for s in started:
        try:
            s.close(test_failed=rep is None or rep.failed)
        except AssertionError as e:
            problems.append(str(e))
    if problems:
        pytest.fail("\n\n".join(problems), pytrace=False)
