// The reducer over the WebSocket's frames: node --test static/chat/tests/
import assert from "node:assert/strict";
import { describe, it } from "node:test";

import {
  activeRun, canRegenerate, canSend, createStore, eventNeedsResync, findRun, heldReplays, initialState, lastRun,
  noticeNeedsRefresh, pendingUser, planAfterReady, reduce, showEmpty,
} from "../state.js";
import { frames, message, replyEvents, run } from "./fixtures.mjs";

const ASSISTANT = { id: "asst_1", model: "demo/echo" };
const apply = (state, actions) => actions.reduce(reduce, state);
const events = (list) => list.map((frame) => ({ type: "run/event", frame }));
const textOf = (state, runId) => findRun(state, runId).parts.filter((p) => p.kind === "message").map((p) => p.text).join("\n\n");

/** A new chat whose first message was sent and accepted as run_1. */
function sentAndAccepted(text = "Hi") {
  return apply(initialState(), [
    { type: "thread/new" },
    { type: "send/start", text },
    { type: "thread/created", threadId: "thread_1" },
    { type: "socket/state", status: "connecting" },
    { type: "socket/ready", frame: { type: "ready", thread_id: "thread_1", active_run: null } },
    { type: "socket/accepted", frame: { type: "accepted", request_type: "send", message_id: "msg_u1", run_id: "run_1" }, assistant: ASSISTANT },
  ]);
}

describe("connection state", () => {
  it("boots loading, then is idle in a new chat and sending while a frame waits", () => {
    assert.equal(initialState().connection, "loading");
    let state = reduce(initialState(), { type: "thread/new" });
    assert.equal(state.connection, "idle");
    assert.ok(showEmpty(state));
    assert.ok(canSend(state));
    state = reduce(state, { type: "send/start", text: "Hi" });
    assert.equal(state.connection, "sending");
    assert.equal(pendingUser(state).text, "Hi");
    assert.ok(!canSend(state), "nothing else is sent while a frame waits for its answer");
    assert.ok(!showEmpty(state));
  });

  it("is open once the socket is ready and the send was accepted", () => {
    const state = sentAndAccepted();
    assert.equal(state.connection, "open");
    assert.equal(state.socket, "open");
    assert.equal(pendingUser(state), null);
    assert.deepEqual(state.items.map((item) => [item.kind, item.id]), [["user", "msg_u1"], ["run", "run_1"]]);
    assert.equal(findRun(state, "run_1").status, "queued");
    assert.equal(findRun(state, "run_1").assistantId, "asst_1");
    assert.equal(activeRun(state).id, "run_1");
    assert.ok(!canSend(state), "a run is going");
  });

  it("loads a thread, drops a snapshot meant for a thread no longer open, and goes open on ready", () => {
    let state = reduce(initialState(), { type: "thread/open", threadId: "thread_a" });
    const stale = state.epoch;
    assert.equal(state.connection, "loading");
    assert.ok(!showEmpty(state) && !canSend(state));
    state = reduce(state, { type: "thread/open", threadId: "thread_b" });
    assert.equal(reduce(state, { type: "history/loaded", epoch: stale, snapshot: { items: [] } }), state);
    state = reduce(state, { type: "history/loaded", epoch: state.epoch, snapshot: { items: [{ type: "user", message: message("msg_1", "user", "Hello") }] } });
    assert.equal(state.connection, "idle", "drawn, but its socket is not ready yet");
    assert.ok(canSend(state));
    state = apply(state, [{ type: "socket/state", status: "connecting" }, { type: "socket/ready", frame: { active_run: null } }]);
    assert.equal(state.connection, "open");
    state = reduce(state, { type: "socket/state", status: "reconnecting" });
    assert.equal(state.connection, "idle");
    assert.equal(state.socket, "reconnecting");
  });

  it("resyncs: events wait for the fresh snapshot, are replayed over it, and it settles open", () => {
    // A run started in another tab: its relay runs from seq 1 while the page redraws.
    const list = frames("run_2", replyEvents("run_2", "msg_b1", ["Hel", "lo", " again"]));
    let state = sentAndAccepted();
    state = reduce(state, { type: "resync/start" });
    assert.equal(state.connection, "resyncing");
    assert.equal(reduce(state, { type: "resync/start" }), state, "one resync at a time");
    assert.ok(!eventNeedsResync(state, list[0]), "no second resync for events that come meanwhile");
    state = apply(state, events(list.slice(0, 8)));
    assert.equal(findRun(state, "run_2"), null);
    assert.equal(state.held.length, 8);
    // The snapshot was read in mid-stream: the run with the text it had by then.
    state = reduce(state, { type: "history/loaded", epoch: state.epoch, snapshot: { items: [
      { type: "user", message: message("msg_u1", "user", "Hi") },
      { type: "run", run: run("run_1", "completed"), messages: [message("msg_a1", "assistant", "Hi!", { run_id: "run_1" })], steps: [] },
      { type: "user", message: message("msg_u2", "user", "Again") },
      { type: "run", run: run("run_2", "in_progress"), messages: [message("msg_b1", "assistant", "Hel", { status: "in_progress", run_id: "run_2" })], steps: [] },
    ] } });
    assert.equal(state.connection, "open");
    assert.deepEqual(state.held, []);
    assert.equal(textOf(state, "run_2"), "Hello", "the held events rebuilt the text once");
    assert.equal(findRun(state, "run_2").lastSeq, 8);
    state = apply(state, events(list.slice(8)));
    assert.equal(textOf(state, "run_2"), "Hello again");
    assert.equal(findRun(state, "run_2").status, "completed");
    assert.equal(textOf(state, "run_1"), "Hi!");
  });

  it("drops the held events of a run it already showed, to replay that one from seq 0", () => {
    let state = apply(sentAndAccepted(), [{ type: "resync/start" }]);
    state = apply(state, events(frames("run_1", [["thread.run.in_progress", run("run_1", "in_progress")]], 5)));
    state = apply(state, events(frames("run_2", [["thread.run.created", run("run_2", "queued")]])));
    assert.deepEqual([...heldReplays(state)], ["run_2"]);
    state = reduce(state, { type: "history/loaded", epoch: state.epoch, snapshot: { items: [
      { type: "user", message: message("msg_u1", "user", "Hi") }, { type: "run", run: run("run_1", "queued"), messages: [], steps: [] },
    ] } });
    assert.deepEqual([findRun(state, "run_1").status, findRun(state, "run_1").lastSeq], ["queued", 0]);
  });

  it("a failed snapshot leaves loading or resyncing", () => {
    let state = reduce(initialState(), { type: "thread/open", threadId: "t" });
    state = reduce(state, { type: "history/failed", epoch: state.epoch });
    assert.equal(state.connection, "idle");
  });
});

describe("run events", () => {
  it("builds the reply from the deltas and ends with the stored text", () => {
    const list = frames("run_1", replyEvents("run_1", "msg_a1", ["Hel", "lo", " there"]));
    let state = sentAndAccepted();
    state = apply(state, events(list.slice(0, 8)));
    const streaming = findRun(state, "run_1").parts[0];
    assert.deepEqual([streaming.text, streaming.status], ["Hello", "in_progress"]);
    state = apply(state, events(list.slice(8)));
    const item = findRun(state, "run_1");
    assert.equal(item.status, "completed");
    assert.equal(item.lastSeq, list.length);
    assert.deepEqual(item.parts, [{ kind: "message", id: "msg_a1", text: "Hello there", status: "completed" }]);
    assert.ok(canRegenerate(state));
    assert.equal(lastRun(state).id, "run_1");
  });

  it("ignores an event whose seq was already applied (deltas included), keeping the very same state", () => {
    const list = frames("run_1", replyEvents("run_1", "msg_a1", ["a", "b", "c"]));
    const once = apply(sentAndAccepted(), events(list.slice(0, 9)));
    assert.equal(textOf(once, "run_1"), "abc");
    for (const frame of list.slice(0, 9)) assert.equal(reduce(once, { type: "run/event", frame }), once);
    const again = apply(once, events(list)); // a relay that resends everything: only seq 10 on is new
    assert.equal(textOf(again, "run_1"), "abc");
    assert.equal(findRun(again, "run_1").status, "completed");
  });

  it("replays from seq 0 after run/replay without showing anything twice", () => {
    const list = frames("run_1", replyEvents("run_1", "msg_a1", ["one ", "two ", "three"]));
    let state = apply(sentAndAccepted(), events(list.slice(0, 8)));
    state = reduce(state, { type: "run/replay", runId: "run_1" });
    assert.equal(findRun(state, "run_1").lastSeq, 0);
    assert.equal(textOf(state, "run_1"), "", "in-progress text is streamed again");
    state = apply(state, events(list));
    assert.equal(textOf(state, "run_1"), "one two three");
  });

  it("leaves events of runs it does not show alone, and says to resync", () => {
    const state = sentAndAccepted();
    const frame = frames("run_x", [["thread.run.created", run("run_x", "queued")]])[0];
    assert.equal(reduce(state, { type: "run/event", frame }), state);
    assert.ok(eventNeedsResync(state, frame));
    assert.ok(!eventNeedsResync(state, { run_id: "run_1" }));
  });

  it("marks what was still streaming as incomplete when the run is cancelled", () => {
    const list = frames("run_1", replyEvents("run_1", "msg_a1", ["par", "tial"]).slice(0, 8));
    let state = apply(sentAndAccepted(), events(list));
    state = apply(state, [{ type: "stop/requested", runId: "run_1" }]);
    assert.equal(state.stopRequested, "run_1");
    state = apply(state, events(frames("run_1", [["thread.run.cancelling", run("run_1", "cancelling")], ["thread.run.cancelled", run("run_1", "cancelled")]], 9)));
    const item = findRun(state, "run_1");
    assert.equal(item.status, "cancelled");
    assert.deepEqual(item.parts[0], { kind: "message", id: "msg_a1", text: "partial", status: "incomplete" });
    assert.equal(activeRun(state), null);
  });

  it("streams tool calls, asks for client-side outputs and settles the step", () => {
    const call = { id: "call_1", type: "function", function: { name: "lookup_order", arguments: "" } };
    const step = (status, calls) => ({ id: "step_t", type: "tool_calls", status, step_details: { type: "tool_calls", tool_calls: calls } });
    const waiting = run("run_1", "requires_action", {
      required_action: { type: "submit_tool_outputs", submit_tool_outputs: { tool_calls: [{ ...call, function: { name: "lookup_order", arguments: "{\"order_id\": \"A-42\"}" } }] } },
    });
    let state = apply(sentAndAccepted(), events(frames("run_1", [
      ["thread.run.in_progress", run("run_1", "in_progress")],
      ["thread.run.step.created", step("in_progress", [call])],
      ["thread.run.step.delta", { id: "step_t", delta: { step_details: { type: "tool_calls", tool_calls: [{ index: 0, function: { arguments: "{\"order_id\": " } }] } } }],
      ["thread.run.step.delta", { id: "step_t", delta: { step_details: { type: "tool_calls", tool_calls: [{ index: 0, function: { arguments: "\"A-42\"}" } }] } } }],
      ["thread.run.requires_action", waiting],
    ])));
    let item = findRun(state, "run_1");
    assert.equal(item.parts[0].calls[0].function.arguments, "{\"order_id\": \"A-42\"}");
    assert.equal(item.parts[0].status, "in_progress");
    assert.deepEqual([item.action.ids, item.action.attempt, item.action.submitted], ["call_1", 0, false]);
    assert.equal(reduce(state, { type: "socket/ready", frame: { active_run: waiting } }).items[1].action, item.action,
      "the same request keeps its form");

    const refused = reduce(state, { type: "socket/error", frame: { request_type: "submit_tool_outputs", error: { message: "Bad output" } } });
    assert.equal(findRun(refused, "run_1").action.attempt, 1, "a refused submit brings the form back, fresh");
    assert.equal(refused.composerError, "Bad output");

    state = reduce(state, { type: "socket/accepted", frame: { request_type: "submit_tool_outputs", run_id: "run_1" } });
    assert.ok(findRun(state, "run_1").action.submitted);
    state = apply(state, events(frames("run_1", [
      ["thread.run.step.completed", step("completed", [{ ...call, function: { name: "lookup_order", arguments: "{}", output: "shipped" } }])],
      ["thread.run.queued", run("run_1", "queued")],
      ["thread.run.completed", run("run_1", "completed")],
    ], 6)));
    item = findRun(state, "run_1");
    assert.equal(item.action, null);
    assert.deepEqual([item.parts[0].status, item.parts[0].calls[0].function.output], ["completed", "shipped"]);
  });
});

describe("answers to frames", () => {
  it("takes back a message the server refused, with the reason", () => {
    let state = apply(initialState(), [{ type: "thread/new" }, { type: "send/start", text: "Hi" }]);
    state = reduce(state, { type: "socket/error", frame: { request_type: "send", error: { message: "Thread is busy." } } });
    assert.deepEqual(state.items, []);
    assert.equal(state.composerError, "Thread is busy.");
    assert.equal(state.connection, "idle");
    assert.equal(reduce(state, { type: "composer/dismiss" }).composerError, null);
  });

  it("regenerate replaces the replies after the last user message", () => {
    let state = apply(sentAndAccepted(), events(frames("run_1", replyEvents("run_1", "msg_a1", ["x"]))));
    state = reduce(state, { type: "regenerate/start" });
    assert.equal(state.connection, "sending");
    state = reduce(state, { type: "socket/accepted", frame: { request_type: "regenerate", run_id: "run_2" }, assistant: ASSISTANT });
    assert.deepEqual(state.items.map((item) => item.key), ["local-1", "run_2"]);
    assert.equal(state.connection, "open");
  });

  it("regenerate keeps the old reply as a version, and an edit starts a new version of the message", () => {
    let state = apply(sentAndAccepted(), events(frames("run_1", replyEvents("run_1", "msg_a1", ["x"]))));
    state = apply(state, [{ type: "regenerate/start" },
      { type: "socket/accepted", frame: { request_type: "regenerate", run_id: "run_2" }, assistant: ASSISTANT }]);
    assert.deepEqual(findRun(state, "run_2").versions, { ids: ["run_1", "run_2"], index: 1 });

    state = reduce(state, { type: "edit/start", messageId: "msg_u1", text: "Hello instead" });
    assert.equal(state.connection, "sending");
    state = reduce(state, { type: "socket/accepted", frame: { request_type: "edit", message_id: "msg_u2", run_id: "run_3" }, assistant: ASSISTANT });
    assert.deepEqual(state.items.map((item) => item.key), ["msg_u2", "run_3"]);
    assert.equal(state.items[0].text, "Hello instead");
    assert.deepEqual(state.items[0].versions, { ids: ["msg_u1", "msg_u2"], index: 1 });
    assert.equal(state.pendingEdit, null);
    assert.equal(state.connection, "open");
  });

  it("puts an earlier page in front, once, and only for the cursor it asked with", () => {
    const page = (ids, before) => ({ items: ids.map((id) => ({ type: "user", key: id, message: message(id, "user", id), versions: { ids: [id], index: 0 } })),
      has_more: !!before, before });
    let state = apply(initialState(), [{ type: "thread/open", threadId: "thread_1" }]);
    state = reduce(state, { type: "history/loaded", epoch: state.epoch, snapshot: page(["msg_3", "msg_4"], "msg_3") });
    assert.equal(state.hasMore, true);
    assert.equal(reduce(state, { type: "history/earlier", epoch: state.epoch, before: "msg_9", snapshot: page(["msg_1"], null) }), state);
    state = reduce(state, { type: "history/earlier", epoch: state.epoch, before: "msg_3", snapshot: page(["msg_1", "msg_2"], null) });
    assert.deepEqual(state.items.map((item) => item.key), ["msg_1", "msg_2", "msg_3", "msg_4"]);
    assert.equal(state.hasMore, false);
  });

  it("reads a run over REST only when its status moved", () => {
    const state = sentAndAccepted();
    assert.equal(reduce(state, { type: "run/refreshed", run: run("run_1", "queued") }), state);
    assert.equal(findRun(reduce(state, { type: "run/refreshed", run: run("run_1", "cancelled") }), "run_1").status, "cancelled");
    assert.ok(noticeNeedsRefresh(state, { run_id: "run_1", status: "cancelled" }));
    assert.ok(!noticeNeedsRefresh(state, { run_id: "run_1", status: "in_progress" }));
  });
});

describe("what a ready frame asks for", () => {
  const shown = (status) => reduce(reduce(initialState(), { type: "thread/open", threadId: "t" }), {
    type: "history/loaded", epoch: 1,
    snapshot: { items: [{ type: "user", message: message("msg_u", "user", "Hi") }, { type: "run", run: run("run_1", status), messages: [], steps: [] }] },
  });

  it("replays the active run from its start on the first ready, from its last seq after a reconnect", () => {
    const state = shown("in_progress");
    assert.deepEqual(planAfterReady(state, { active_run: run("run_1", "in_progress") }), { subscribe: { runId: "run_1", afterSeq: 0 } });
    const later = apply(state, [{ type: "socket/ready", frame: { active_run: run("run_1", "in_progress") } },
      ...events(frames("run_1", [["thread.run.in_progress", run("run_1", "in_progress")]], 7))]);
    assert.deepEqual(planAfterReady(later, { active_run: run("run_1", "in_progress") }), { subscribe: { runId: "run_1", afterSeq: 7 } });
  });

  it("resyncs for a run it does not show, or one that ended meanwhile; else nothing", () => {
    assert.deepEqual(planAfterReady(shown("in_progress"), { active_run: run("run_9", "queued") }), { resync: true });
    assert.deepEqual(planAfterReady(shown("in_progress"), { active_run: null }), { resync: true });
    assert.deepEqual(planAfterReady(shown("completed"), { active_run: null }), {});
  });

  it("resyncs when the socket dropped between a send and its answer, dropping the pending message", () => {
    let state = apply(initialState(), [{ type: "thread/new" }, { type: "send/start", text: "Hi" },
      { type: "socket/ready", frame: { active_run: null } }]);
    assert.deepEqual(planAfterReady(state, { active_run: null }), { resync: true });
    state = reduce(state, { type: "socket/ready", frame: { active_run: null } });
    assert.equal(pendingUser(state), null);
    assert.equal(state.connection, "open");
  });
});

describe("the store", () => {
  it("tells its listeners about changes only", () => {
    const store = createStore();
    const seen = [];
    store.subscribe((state, previous, action) => seen.push(action.type));
    store.dispatch({ type: "thread/new" });
    store.dispatch({ type: "composer/dismiss" }); // nothing to dismiss: no change
    store.dispatch({ type: "nonsense" });
    assert.deepEqual(seen, ["thread/new"]);
    assert.equal(store.state.connection, "idle");
  });
});
