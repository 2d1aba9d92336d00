// The transcript's items and what run events do to them: pure functions, no DOM.
//
// An item is a user message ({kind: "user", key, id, text, createdAt, pending}) or a run block
// ({kind: "run", key, id, run, status, assistantId, model, lastSeq, parts, action}); a run's
// parts are its reply messages ({kind: "message", id, text, status}) and tool-call steps
// ({kind: "step", id, calls, status}), in the order they appeared. `action` is the pending
// request for client-side tool outputs ({ids, calls, attempt, submitted}) or null.
// Nothing is changed in place: a function returns the same object when nothing changed.

const ACTIVE = new Set(["queued", "in_progress", "requires_action", "cancelling"]);
export const isActive = (status) => ACTIVE.has(status);

export const textOf = (content) =>
  (content || []).filter((part) => part.type === "text").map((part) => (part.text && part.text.value) || "").join("");

export function userItem({ key, id = null, text = "", createdAt = 0, pending = false, images = [] }) {
  const item = { kind: "user", key: key || id, id, text, createdAt, pending };
  if (images && images.length) item.images = images; // [{fileId, src?}]
  return item;
}

/** A message's files: its image_file parts, its file_path annotations (generated files it links)
 * and its file_citation annotations (the knowledge files it cites: shown as footnotes). */
export function mediaOf(content) {
  const images = [];
  const links = [];
  const citations = [];
  for (const part of content || []) {
    if (part.type === "image_file" && part.image_file) images.push({ fileId: part.image_file.file_id });
    for (const note of (part.type === "text" && part.text && part.text.annotations) || []) {
      if (note.type === "file_path" && note.file_path) links.push({ text: note.text, fileId: note.file_path.file_id });
      if (note.type === "file_citation" && note.file_citation) {
        citations.push({ text: note.text, start: note.start_index, end: note.end_index, fileId: note.file_citation.file_id });
      }
    }
  }
  return images.length || links.length || citations.length ? { images, links, citations } : null;
}

const withMedia = (part, content) => {
  const media = mediaOf(content);
  return media ? { ...part, media } : part;
};

export function runItem(id, { assistantId = null, model = null } = {}) {
  return { kind: "run", key: id, id, run: null, status: null, assistantId, model, lastSeq: 0, parts: [], action: null };
}

export const messagePart = (id, text = "", status = "completed") => ({ kind: "message", id, text, status });
export const stepPart = (id, calls = [], status = "in_progress") => ({ kind: "step", id, calls: calls.map(normaliseCall), status });

export function normaliseCall(call) {
  const out = { id: call.id || null, type: call.type || (call.code_interpreter ? "code_interpreter" : "function") };
  if (out.type === "file_search") {
    const fs = call.file_search || {};
    out.file_search = { query: fs.query ?? null, ranking_options: fs.ranking_options || null, results: fs.results ?? null };
  } else if (out.type === "code_interpreter") {
    const ci = call.code_interpreter || {};
    out.code_interpreter = { input: ci.input || "", outputs: [...(ci.outputs || [])] };
  } else {
    const fn = call.function || {};
    out.function = { name: fn.name || "", arguments: fn.arguments || "", output: fn.output ?? null };
  }
  return out;
}

/** A tool-call step's calls with streamed `step_details.tool_calls` deltas applied. */
export function applyCallDeltas(calls, deltas) {
  const next = calls.slice();
  for (const delta of deltas || []) {
    const index = delta.index ?? 0;
    const call = next[index] ? structuredClone(next[index]) : normaliseCall({ id: delta.id, type: delta.type });
    if (delta.id) call.id = delta.id;
    if (delta.function && call.function) {
      if (delta.function.name) call.function.name = delta.function.name;
      if (delta.function.arguments) call.function.arguments += delta.function.arguments;
      if (delta.function.output != null) call.function.output = delta.function.output;
    }
    if (delta.file_search && call.file_search) {
      // The search's results come whole, in one delta, once it ran.
      for (const key of ["query", "ranking_options", "results"]) if (delta.file_search[key] != null) call.file_search[key] = delta.file_search[key];
    }
    if (delta.code_interpreter && call.code_interpreter) {
      if (delta.code_interpreter.input) call.code_interpreter.input += delta.code_interpreter.input;
      if (delta.code_interpreter.outputs) call.code_interpreter.outputs.push(...delta.code_interpreter.outputs);
    }
    next[index] = call;
  }
  return next;
}

const requiredCalls = (run) =>
  (run && run.required_action && run.required_action.submit_tool_outputs && run.required_action.submit_tool_outputs.tool_calls) || [];

/** The run object `run` applied to its block: status, label, and what a run's end settles. */
export function withRun(item, run) {
  const status = run.status;
  let parts = item.parts;
  if (!isActive(status)) {
    // An ended run streams nothing more: what was still going is over.
    parts = parts.map((part) => {
      if (part.status !== "in_progress") return part;
      if (part.kind === "message") return { ...part, status: "incomplete" };
      return { ...part, status: status === "completed" ? "completed" : status };
    });
  }
  let action = null;
  const calls = requiredCalls(run);
  if (status === "requires_action" && calls.length) {
    const ids = calls.map((call) => call.id).join(",");
    action = item.action && item.action.ids === ids ? item.action : { ids, calls, attempt: 0, submitted: false };
  }
  return { ...item, run, status, assistantId: run.assistant_id || item.assistantId, model: run.model || item.model, parts, action };
}

function withPart(item, kind, id, change, { create = true } = {}) {
  const index = item.parts.findIndex((part) => part.kind === kind && part.id === id);
  if (index < 0 && !create) return item;
  const part = index < 0 ? (kind === "message" ? messagePart(id, "", "in_progress") : stepPart(id)) : item.parts[index];
  const changed = change(part);
  if (changed === part && index >= 0) return item;
  const parts = item.parts.slice();
  if (index < 0) parts.push(changed);
  else parts[index] = changed;
  return { ...item, parts };
}

/** One Assistants stream event applied to its run's block (no seq check: see `reduce`). */
export function applyRunEvent(item, name, data) {
  if (name.startsWith("thread.run.step.")) {
    if (name === "thread.run.step.delta") {
      const deltas = data.delta && data.delta.step_details && data.delta.step_details.tool_calls;
      return deltas ? withPart(item, "step", data.id, (step) => ({ ...step, calls: applyCallDeltas(step.calls, deltas) })) : item;
    }
    if (data.type !== "tool_calls") return item; // a message step: the message's own events draw it
    const calls = data.step_details ? data.step_details.tool_calls || [] : [];
    return withPart(item, "step", data.id, (step) => (name === "thread.run.step.created" || calls.length
      ? { ...step, calls: calls.map(normaliseCall), status: data.status || step.status }
      : { ...step, status: data.status }));
  }
  if (name.startsWith("thread.run.")) return withRun(item, data);
  if (name === "thread.message.created") {
    return withPart(item, "message", data.id, (message) => ({ ...message, text: textOf(data.content), status: "in_progress" }));
  }
  if (name === "thread.message.delta") {
    const text = ((data.delta && data.delta.content) || [])
      .filter((part) => part.type === "text" && part.text && part.text.value).map((part) => part.text.value).join("");
    return withPart(item, "message", data.id, (message) => ({ ...message, text: message.text + text, status: "in_progress" }));
  }
  if (name === "thread.message.completed" || name === "thread.message.incomplete") {
    return withPart(item, "message", data.id, (message) => withMedia({ ...message, text: textOf(data.content), status: data.status }, data.content));
  }
  return item; // thread.message.in_progress, step in_progress without calls, …: nothing to show
}
