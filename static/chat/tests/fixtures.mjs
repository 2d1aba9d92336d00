// Builders for the frames and objects the server sends (docs/websocket.md), for the tests.

export const run = (id, status, extra = {}) => ({
  id, object: "thread.run", status, assistant_id: "asst_1", model: "demo/echo", last_error: null, required_action: null, ...extra,
});

export const message = (id, role, text, extra = {}) => ({
  id, object: "thread.message", role, status: "completed", created_at: 1, run_id: null, assistant_id: null,
  content: text == null ? [] : [{ type: "text", text: { value: text, annotations: [] } }], ...extra,
});

export const delta = (id, text) => ({ id, object: "thread.message.delta", delta: { content: [{ index: 0, type: "text", text: { value: text } }] } });

/** `event` frames for `events` ([name, data] pairs), numbered from `from`. */
export function frames(runId, events, from = 1) {
  return events.map(([event, data], index) => ({ type: "event", run_id: runId, seq: from + index, event, data }));
}

/** The events of a run that answers `text` in `chunks`, from `thread.run.created` to completion. */
export function replyEvents(runId, messageId, chunks) {
  const text = chunks.join("");
  return [
    ["thread.run.created", run(runId, "queued")],
    ["thread.run.queued", run(runId, "queued")],
    ["thread.run.in_progress", run(runId, "in_progress")],
    ["thread.run.step.created", { id: `step_${messageId}`, type: "message_creation", status: "in_progress", step_details: { type: "message_creation", message_creation: { message_id: messageId } } }],
    ["thread.message.created", message(messageId, "assistant", null, { status: "in_progress", run_id: runId })],
    ["thread.message.in_progress", message(messageId, "assistant", null, { status: "in_progress", run_id: runId })],
    ...chunks.map((chunk) => ["thread.message.delta", delta(messageId, chunk)]),
    ["thread.message.completed", message(messageId, "assistant", text, { run_id: runId })],
    ["thread.run.step.completed", { id: `step_${messageId}`, type: "message_creation", status: "completed", step_details: { type: "message_creation", message_creation: { message_id: messageId } } }],
    ["thread.run.completed", run(runId, "completed")],
  ];
}
