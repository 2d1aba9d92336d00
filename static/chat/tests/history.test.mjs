// The history loader: the server's snapshot into the reducer's state.
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import { loadHistory } from "../history.js";
import { findRun, initialState, planAfterReady, reduce } from "../state.js";
import { frames, message, replyEvents, run } from "./fixtures.mjs";

const user = (id, text) => ({ type: "user", message: message(id, "user", text) });
const reply = (runObject, messages = [], extra = {}) => ({
  type: "run", run: runObject, messages, steps: [], replaced_by_run_id: null, superseded: false, ...extra,
});
const answer = (id, runId, text, extra) => message(id, "assistant", text, { run_id: runId, assistant_id: "asst_1", ...extra });

/** A projection that leaves out what only one path can know (seq, the run object's details). */
const shape = (items) => items.map((item) => (item.kind === "user"
  ? ["user", item.id, item.text]
  : ["run", item.id, item.status, item.parts.map((part) => [part.kind, part.id, part.status, part.text ?? part.calls])]));

describe("loadHistory", () => {
  it("keeps the server's order and leaves out the runs it marks superseded", () => {
    const { items, hasMore } = loadHistory({
      has_more: true,
      items: [
        user("msg_u1", "First"),
        reply(run("run_old", "failed"), [], { replaced_by_run_id: "run_new", superseded: true }),
        reply(run("run_new", "completed"), [answer("msg_a1", "run_new", "Second try")]),
        user("msg_u2", "Again"),
        reply(run("run_failed", "failed", { last_error: { code: "server_error", message: "No model" } })),
      ],
    });
    assert.ok(hasMore);
    assert.deepEqual(shape(items), [
      ["user", "msg_u1", "First"],
      ["run", "run_new", "completed", [["message", "msg_a1", "completed", "Second try"]]],
      ["user", "msg_u2", "Again"],
      ["run", "run_failed", "failed", []],
    ]);
    assert.equal(items[3].run.last_error.message, "No model");
  });

  it("trusts the server's flag: two replies of one turn that nobody superseded both show", () => {
    const { items } = loadHistory({ items: [
      user("msg_u1", "Hi"),
      reply(run("run_a", "cancelled"), [], { replaced_by_run_id: "run_b" }),
      reply(run("run_b", "completed"), [answer("msg_b", "run_b", "B")]),
    ] });
    assert.deepEqual(items.map((item) => item.key), ["msg_u1", "run_a", "run_b"]);
  });

  it("orders a run's tool cards and reply messages by its steps", () => {
    const tools = reply(run("run_t", "completed", { tools: [{ type: "function" }] }), [answer("msg_t", "run_t", "The tool returned 5h 30m")], {
      steps: [
        { id: "step_1", type: "tool_calls", status: "completed", step_details: { type: "tool_calls", tool_calls: [{ id: "call_1", type: "function", function: { name: "get_flight_times", arguments: "{}", output: "{\"duration\": \"5h 30m\"}" } }] } },
        { id: "step_2", type: "message_creation", status: "completed", step_details: { type: "message_creation", message_creation: { message_id: "msg_t" } } },
      ],
    });
    const [item] = loadHistory({ items: [tools] }).items;
    assert.deepEqual(item.parts.map((part) => [part.kind, part.id]), [["step", "step_1"], ["message", "msg_t"]]);
    assert.equal(item.parts[0].calls[0].function.output, "{\"duration\": \"5h 30m\"}");
  });

  it("shows an assistant message added without a run as a finished reply", () => {
    const [item] = loadHistory({ items: [reply(null, [answer("msg_x", null, "From the API")])] }).items;
    assert.deepEqual([item.key, item.status, item.parts[0].text], ["orphan-msg_x", "completed", "From the API"]);
  });

  it("gives a waiting run its tool-output request, and marks a stopped reply's text incomplete", () => {
    const waiting = run("run_w", "requires_action", {
      required_action: { type: "submit_tool_outputs", submit_tool_outputs: { tool_calls: [{ id: "call_w", type: "function", function: { name: "lookup_order", arguments: "{}" } }] } },
    });
    const [a, b] = loadHistory({ items: [reply(waiting), reply(run("run_s", "cancelled"), [answer("msg_s", "run_s", "part", { status: "in_progress" })])] }).items;
    assert.equal(a.action.ids, "call_w");
    assert.equal(b.parts[0].status, "incomplete");
  });
});

describe("a snapshot and the live events draw the same transcript", () => {
  const chunks = ["🧪 Demo", " backend", " — You said: Hi"];
  const live = (state) => frames("run_1", replyEvents("run_1", "msg_a1", chunks))
    .reduce((next, frame) => reduce(next, { type: "run/event", frame }), state);

  it("for a finished reply", () => {
    let streamed = reduce(initialState(), { type: "thread/open", threadId: "t" });
    streamed = reduce(streamed, { type: "history/loaded", epoch: streamed.epoch, snapshot: { items: [user("msg_u1", "Hi"), reply(run("run_1", "queued"))] } });
    streamed = live(streamed);
    const loaded = loadHistory({ items: [user("msg_u1", "Hi"), reply(run("run_1", "completed"), [answer("msg_a1", "run_1", chunks.join(""))])] });
    assert.deepEqual(shape(streamed.items), shape(loaded.items));
  });

  it("for a reply loaded in mid-stream, then replayed from seq 0 (a reload)", () => {
    let state = reduce(initialState(), { type: "thread/open", threadId: "t" });
    state = reduce(state, { type: "history/loaded", epoch: state.epoch, snapshot: { items: [
      user("msg_u1", "Hi"), reply(run("run_1", "in_progress"), [answer("msg_a1", "run_1", "🧪 Demo", { status: "in_progress" })]),
    ] } });
    const ready = { type: "ready", active_run: run("run_1", "in_progress") };
    const plan = planAfterReady(state, ready);
    assert.deepEqual(plan, { subscribe: { runId: "run_1", afterSeq: 0 } });
    state = reduce(state, { type: "socket/ready", frame: ready });
    state = reduce(state, { type: "run/replay", runId: "run_1" });
    state = live(state);
    const item = findRun(state, "run_1");
    assert.equal(item.parts.length, 1);
    assert.equal(item.parts[0].text, chunks.join(""), "the text shows once");
    assert.equal(item.status, "completed");
  });
});
