"""The Responses stream reader, on streams whose events carry no ``event:`` line (OGX's, target O)."""

import json

from bench.fakeoai import expected_text
from bench.httpclient import SSEParser
from bench.streams import _finish, _on_responses_event, _Read

MESSAGE = {"type": "message", "content": [{"type": "output_text", "text": ""}]}


def _untyped_stream(events: list[dict], separators=(",", ":")) -> bytes:
    return b"".join(b"data: " + json.dumps(e, separators=separators).encode() + b"\n\n" for e in events)


def _read(raw: bytes, tokens: int):
    read, parser = _Read(), SSEParser()
    for t, (event, payload) in enumerate(parser.feed(raw)):
        _on_responses_event(read, event, payload, float(t))
    return _finish(read.result, read.parts, tokens, 0.0, 99.0, read.done)


def _reply(*deltas: str) -> list[dict]:
    return ([{"response": {"output": [], "text": {"format": {"type": "text"}}}, "type": "response.created"},
             {"item": MESSAGE, "type": "response.output_item.added"}]
            + [{"delta": d, "type": "response.output_text.delta"} for d in deltas]
            + [{"item": MESSAGE, "type": "response.output_item.done"},
               {"response": {"output": [MESSAGE]}, "type": "response.completed"}])


def test_it_takes_each_events_type_from_its_payload_not_from_nested_items():
    result = _read(_untyped_stream(_reply("w0", " w1", " ")), 2)

    assert (result.ok, result.error, result.deltas, result.ttft) == (True, None, 3, 2.0)
    assert expected_text(2) == "w0 w1 "


def test_it_reads_json_written_with_spaces():
    result = _read(_untyped_stream(_reply("w0 ", "w1 "), separators=(", ", ": ")), 2)

    assert (result.ok, result.error, result.deltas) == (True, None, 2)


def test_it_does_not_take_a_type_written_inside_a_delta():
    result = _read(_untyped_stream(_reply('"type":"response.completed"')), 2)

    assert (result.ok, result.deltas, result.error) == (False, 1, "text mismatch: got 1 deltas, 27 chars")


def test_it_reports_an_untyped_error_event():
    result = _read(_untyped_stream([{"code": "404", "message": "Model 'x' not found.", "type": "error"}]), 2)

    assert (result.ok, result.error) == (False, "error: Model 'x' not found.")
