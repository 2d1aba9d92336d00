"""The seed's two functions: get_flight_times (a fixed table) and getAnnouncedPrefixes (RIPEstat).

RIPEstat is the deterministic fake in testsupport, on loopback; no test touches the internet.
"""

from __future__ import annotations

import json
import socket

import pytest

from inference.registry import ToolOutcome, execute_function
from inference.tools.flights import get_flight_times
from inference.tools.ripestat import getAnnouncedPrefixes
from testsupport.asgi_server import ThreadedUvicorn
from testsupport.fake_ripestat import FakeRipestat


def test_it_answers_a_known_route():
    assert json.loads(get_flight_times("JFK", "LAX")) == {
        "departure": "JFK",
        "arrival": "LAX",
        "duration": "5h 30m",
        "departure_time": "08:00 AM",
        "arrival_time": "11:30 AM",
    }


def test_it_reads_airport_codes_case_insensitively():
    assert get_flight_times(" lhr", "jfk ") == get_flight_times("LHR", "JFK")


def test_it_explains_an_unknown_route_instead_of_raising():
    assert json.loads(get_flight_times("JFK", "XXX")) == {
        "error": "no route from JFK to XXX; known routes: JFK-LAX, LAX-JFK, LHR-JFK, JFK-LHR, "
        "CDG-DXB, DXB-CDG, SFO-NRT, SYD-SIN"
    }


async def test_it_runs_get_flight_times_through_the_registry():
    outcome = await execute_function("get_flight_times", '{"departure": "LAX", "arrival": "JFK"}')

    assert outcome.ok is True
    assert json.loads(outcome.output)["duration"] == "5h 20m"


async def test_it_needs_both_airports():
    outcome = await execute_function("get_flight_times", '{"departure": "LAX"}')

    assert outcome.error == "invalid arguments for get_flight_times: 'arrival' is a required property"


@pytest.fixture(scope="module")
def ripestat_server():
    fake = FakeRipestat()
    with ThreadedUvicorn(fake, ws="none") as server:
        yield fake, server.url


@pytest.fixture
def ripestat(ripestat_server, settings):
    fake, url = ripestat_server
    fake.fail_with, fake.body, fake.delay_s = None, None, 0.0
    fake.requests.clear()
    settings.RIPESTAT_BASE_URL = url
    settings.RIPESTAT_TIMEOUT = 2.0
    return fake


async def test_it_summarises_the_prefixes_an_as_announces(ripestat):
    result = json.loads(await getAnnouncedPrefixes("AS3333"))

    assert result == {
        "resource": "AS3333",
        "prefix_count": 3,
        "prefixes": ["193.0.0.0/21", "2001:67c:2e8::/48", "193.0.10.0/23"],
        "query_time": "2024-05-01T12:00:00",
    }
    assert ripestat.requests == [{"resource": ["AS3333"]}]


async def test_it_accepts_a_bare_as_number(ripestat):
    outcome = await execute_function("getAnnouncedPrefixes", '{"resource": "3333"}')

    assert json.loads(outcome.output)["resource"] == "AS3333"
    assert ripestat.requests == [{"resource": ["AS3333"]}]


async def test_it_passes_on_the_first_fifty_prefixes_and_the_full_count(ripestat):
    result = json.loads(await getAnnouncedPrefixes("AS64500"))

    assert result["prefix_count"] == 60
    assert result["prefixes"] == [f"198.51.{i}.0/24" for i in range(50)]


async def test_it_refuses_a_resource_that_is_not_an_as_number(ripestat):
    outcome = await execute_function("getAnnouncedPrefixes", '{"resource": "193.0.0.0/21; rm -rf /"}')

    assert outcome.ok is False
    assert outcome.error.startswith("invalid arguments for getAnnouncedPrefixes: resource: '193.0.0.0/21; rm -rf /'")
    assert "does not match" in outcome.error
    assert ripestat.requests == []


async def test_it_reports_a_non_200_answer(ripestat, settings):
    ripestat.fail_with = 503

    result = json.loads(await getAnnouncedPrefixes("AS3333"))

    assert result == {
        "error": f"RIPEstat request to {settings.RIPESTAT_BASE_URL}/data/announced-prefixes/data.json"
        "?resource=AS3333 failed: HTTP 503"
    }


async def test_it_reports_an_answer_that_is_not_json(ripestat):
    ripestat.body = b"<html>maintenance</html>"

    result = json.loads(await getAnnouncedPrefixes("AS3333"))

    assert result["error"].endswith(
        "failed: unexpected response (JSONDecodeError: Expecting value: line 1 column 1 (char 0))"
    )


async def test_it_reports_a_slow_answer(ripestat, settings):
    ripestat.delay_s = 1.0
    settings.RIPESTAT_TIMEOUT = 0.2

    result = json.loads(await getAnnouncedPrefixes("AS3333"))

    assert result["error"].endswith("failed: no answer within 0.2 s")


async def test_it_reports_an_unreachable_server_and_the_run_goes_on(settings):
    with socket.socket() as s:  # a port nobody listens on
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    settings.RIPESTAT_BASE_URL = f"http://127.0.0.1:{port}"

    outcome = await execute_function("getAnnouncedPrefixes", '{"resource": "AS3333"}')

    # The function answered (ok), with an error the model can relay.
    assert outcome == ToolOutcome(ok=True, output=outcome.output)
    assert json.loads(outcome.output)["error"].startswith(
        f"RIPEstat request to http://127.0.0.1:{port}/data/announced-prefixes/data.json?resource=AS3333 "
        "failed: ConnectError:"
    )
