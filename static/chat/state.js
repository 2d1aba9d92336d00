// The chat page's state, and the only code that changes it: a pure reducer (no DOM, no I/O).
//
// What it holds: the open thread, the transcript as a list of items (user messages and run
// blocks, each run with its parts: reply messages and tool-call steps), and where the page
// stands with the server (`connection`). Everything the page shows is drawn from it by
// transcript.js and app.js; everything that happens (a WebSocket frame, a snapshot from the
// server, a click) is an action dispatched to `reduce`. Run events are the WebSocket's
// `event` frames as they come (docs/websocket.md); one whose seq a run already applied is
// ignored, so a replay over what is shown changes nothing.
//
// `connection` is one of:
//   idle       no thread yet, or the thread's socket is not ready (connecting, reconnecting)
//   loading    a thread is being drawn from its snapshot; nothing can be sent yet
//   open       the thread is shown and its socket is ready
//   sending    a `send` or `regenerate` frame waits for its `accepted` (or `error`)
//   resyncing  the thread is being redrawn from a fresh snapshot; run events wait for it
//              (`held`), then replay over it: a relay already running goes on where it is
//
// Objects are never changed in place: an item that did not change keeps its identity, which
// is how the renderer knows what to leave alone.

import { loadHistory } from "./history.js";
import { isActive, runItem, userItem, withRun, applyRunEvent } from "./items.js";

export { isActive, textOf } from "./items.js";

// --- the state ----------------------------------------------------------------------------

export function initialState() {
  return {
    epoch: 0, // bumped whenever the open thread changes; async answers for an older one are dropped
    threadId: null,
    connection: "loading", // booting: sending waits until the first thread or the empty chat is shown
    socket: "closed", // closed | connecting | open | reconnecting | gone (the ThreadSocket's word)
    readyCount: 0, // `ready` frames on this thread's socket: the first one follows the snapshot
    items: [],
    composerError: null,
    stopRequested: null, // the run a Stop was asked for (its button waits for the answer)
    held: [], // event frames that came while resyncing, applied over the fresh snapshot
    localKeys: 0, // for keys of user messages the server has not numbered yet
    hasMore: false, // earlier entries wait on the server; `before` is the cursor for them
    before: null,
    pendingEdit: null, // {messageId, text}: an `edit` frame waiting for its answer
  };
}

// --- reading the state ----------------------------------------------------------------------

export const findRun = (state, id) => state.items.find((item) => item.kind === "run" && item.id === id) || null;
export const activeRun = (state) => state.items.find((item) => item.kind === "run" && isActive(item.status)) || null;
export const pendingUser = (state) => state.items.find((item) => item.kind === "user" && item.pending) || null;
export const users = (state) => state.items.filter((item) => item.kind === "user");

export function lastRun(state) {
  for (let i = state.items.length - 1; i >= 0; i -= 1) if (state.items[i].kind === "run") return state.items[i];
  return null;
}

/** The composer may send: nothing loading, nothing waiting for an answer, no run going. */
export const canSend = (state) => (state.connection === "idle" || state.connection === "open") && !activeRun(state);

/** The last reply may be asked for again (over an open socket, after a user message). */
export const canRegenerate = (state) => state.connection === "open" && !activeRun(state) && users(state).length > 0;

export const showEmpty = (state) => !state.items.length && state.connection !== "loading" && state.connection !== "resyncing";

/** After a `ready` frame (given the state before it): replay the active run, redraw, or nothing. */
export function planAfterReady(state, frame) {
  const count = state.readyCount + 1;
  if (count > 1 && state.connection === "sending") return { resync: true }; // dropped between `send` and its answer
  const active = frame.active_run;
  if (active) {
    const item = findRun(state, active.id);
    if (!item) return { resync: true }; // started after our snapshot (another tab, an SDK)
    return { subscribe: { runId: active.id, afterSeq: count === 1 ? 0 : item.lastSeq } };
  }
  // It ended between the snapshot and this socket, or while we were disconnected.
  return activeRun(state) ? { resync: true } : {};
}

/** An event of a run this page does not show means: redraw, then follow it from its start. */
export const eventNeedsResync = (state, frame) =>
  state.connection !== "resyncing" && state.connection !== "loading" && !!state.threadId && !findRun(state, frame.run_id);

/** A `thread.run` notice that a run shown as active ended: only a hint, to check over REST. */
export function noticeNeedsRefresh(state, frame) {
  const item = findRun(state, frame.run_id);
  return !!item && isActive(item.status) && !isActive(frame.status);
}

// --- the reducer ----------------------------------------------------------------------------

const settled = (state) => (state.socket === "open" ? "open" : "idle");

function mapRun(state, id, change) {
  let touched = false;
  const items = state.items.map((item) => {
    if (item.kind !== "run" || item.id !== id) return item;
    const next = change(item);
    touched = touched || next !== item;
    return next;
  });
  return touched ? { ...state, items } : state;
}

function freshThread(state, threadId, connection) {
  return { ...initialState(), epoch: state.epoch + 1, threadId, connection, localKeys: state.localKeys };
}

function onAccepted(state, frame, assistant) {
  const type = frame.request_type;
  if (type === "submit_tool_outputs") {
    return mapRun(state, frame.run_id, (item) => (item.action ? { ...item, action: { ...item.action, submitted: true } } : item));
  }
  if (type !== "send" && type !== "regenerate" && type !== "edit") return state;
  let items = state.items;
  let runVersions = null;
  if (type === "edit") {
    // The edited message's place gets a new version; what followed it is the old branch now.
    const edit = state.pendingEdit || {};
    const at = items.findIndex((item) => item.kind === "user" && item.id === edit.messageId);
    const old = at >= 0 ? items[at] : null;
    const ids = [...((old && old.versions && old.versions.ids) || (old ? [old.id] : [])), frame.message_id];
    items = [...items.slice(0, at >= 0 ? at : items.length),
      { ...userItem({ id: frame.message_id, text: edit.text || "", createdAt: Math.floor(Date.now() / 1000) }), versions: { ids, index: ids.length - 1 } }];
  } else if (type === "send") {
    items = items.map((item) => (item.kind === "user" && item.pending
      ? { ...item, id: frame.message_id, pending: false, createdAt: Math.floor(Date.now() / 1000) } : item));
  } else {
    // Regenerate replaces every reply after the last user message.
    // Regenerate answers the last user message again; the old reply becomes a version.
    const last = items.map((item) => item.kind).lastIndexOf("user");
    const replaced = items.filter((item, index) => item.kind === "run" && index > last && item.parts.some((part) => part.kind === "message"));
    const previous = replaced[replaced.length - 1];
    if (previous) {
      const ids = [...((previous.versions && previous.versions.ids) || [previous.id]), frame.run_id];
      runVersions = { ids, index: ids.length - 1 };
    }
    items = items.filter((item, index) => item.kind !== "run" || index < last);
  }
  if (!items.some((item) => item.kind === "run" && item.id === frame.run_id)) {
    const run = { ...runItem(frame.run_id, { assistantId: assistant && assistant.id, model: assistant && assistant.model }), status: "queued" };
    items = [...items, runVersions ? { ...run, versions: runVersions } : run];
  }
  return { ...state, items, pendingEdit: null, connection: state.connection === "sending" ? settled(state) : state.connection };
}

function onError(state, frame) {
  let next = { ...state, composerError: (frame.error && frame.error.message) || "Something went wrong." };
  if (frame.request_type === "cancel") next.stopRequested = null;
  if (frame.request_type === "edit") next.pendingEdit = null;
  if (frame.request_type === "send") next.items = state.items.filter((item) => !(item.kind === "user" && item.pending));
  if (frame.request_type === "submit_tool_outputs") {
    const active = activeRun(state);
    // The form comes back, fresh, for another try.
    if (active && active.action) next = mapRun(next, active.id, (item) => ({ ...item, action: { ...item.action, submitted: false, attempt: item.action.attempt + 1 } }));
  }
  if (state.connection === "sending") next.connection = settled(state);
  return next;
}

function applyFrame(state, { run_id: runId, seq, event: name, data }) {
  return mapRun(state, runId, (item) => {
    if (seq && seq <= item.lastSeq) return item; // applied already: a replay never shows anything twice
    const next = applyRunEvent(item, name, data || {});
    return seq ? { ...next, lastSeq: seq } : next;
  });
}

const forReplay = (item) => ({
  ...item,
  lastSeq: 0,
  parts: item.parts.map((part) => (part.kind === "message" && part.status === "in_progress" ? { ...part, text: "" } : part)),
});

/**
 * The runs whose events held while resyncing will be replayed over the fresh snapshot: those
 * the page did not show before. Their relay runs from the start of the run's segment (a run
 * started elsewhere), so the held events and what follows are the whole segment; asking for a
 * replay again would restart that relay under the events in flight. A run already shown has
 * no such start: its held events are dropped and it is replayed from seq 0 instead.
 */
export function heldReplays(state) {
  return new Set(state.held.map((frame) => frame.run_id).filter((runId) => !findRun(state, runId)));
}

function replayHeld(state, previous) {
  const runs = heldReplays(previous);
  if (!runs.size) return state;
  let next = state;
  for (const runId of runs) next = mapRun(next, runId, forReplay);
  return previous.held.filter((frame) => runs.has(frame.run_id)).reduce(applyFrame, next);
}

/** The next state after `action` ({type, …}); the same object when nothing changed. */
export function reduce(state, action) {
  switch (action.type) {
    case "thread/new":
      return freshThread(state, null, "idle");
    case "thread/open":
      return freshThread(state, action.threadId, "loading");
    case "thread/created": // the first message of a new chat made its thread
      return { ...state, threadId: action.threadId };
    case "history/loaded": {
      if (action.epoch !== state.epoch) return state;
      const { items, hasMore, before } = loadHistory(action.snapshot);
      return replayHeld({ ...state, items, hasMore, before, connection: settled(state), held: [] }, state);
    }
    case "history/earlier": { // the page before the first entry shown, put in front
      if (action.epoch !== state.epoch || action.before !== state.before) return state;
      const { items, hasMore, before } = loadHistory(action.snapshot);
      const shown = new Set(state.items.map((item) => item.key));
      return { ...state, items: [...items.filter((item) => !shown.has(item.key)), ...state.items], hasMore, before };
    }
    case "history/failed":
      if (action.epoch !== state.epoch) return state;
      if (state.connection !== "loading" && state.connection !== "resyncing") return state;
      return { ...state, connection: settled(state), held: [] }; // a run it does not show stays unknown
    case "resync/start":
      if (!state.threadId || state.connection === "loading" || state.connection === "resyncing") return state;
      return { ...state, connection: "resyncing" };
    case "socket/state": {
      const next = { ...state, socket: action.status };
      if (action.status !== "open" && state.connection === "open") next.connection = "idle";
      return next;
    }
    case "socket/ready": {
      let next = { ...state, socket: "open", readyCount: state.readyCount + 1 };
      if (next.readyCount > 1 && state.connection === "sending") {
        // The socket dropped between our frame and its answer: the stored thread decides.
        next.items = state.items.filter((item) => !(item.kind === "user" && item.pending));
        next.connection = "open";
      } else if (state.connection === "idle") {
        next.connection = "open";
      }
      const active = action.frame && action.frame.active_run;
      if (active) next = mapRun(next, active.id, (item) => withRun(item, active));
      return next;
    }
    case "socket/accepted":
      return onAccepted(state, action.frame, action.assistant);
    case "socket/error":
      return onError(state, action.frame);
    case "run/event": {
      if (state.connection === "resyncing") return { ...state, held: [...state.held, action.frame] };
      return applyFrame(state, action.frame);
    }
    case "run/replay": // before a replay from the first event: in-progress text will stream again
      return mapRun(state, action.runId, forReplay);
    case "run/refreshed": // a run object read over REST
      return mapRun(state, action.run.id, (item) => (item.status === action.run.status ? item : withRun(item, action.run)));
    case "action/cleared": // tool outputs submitted over REST
      return mapRun(state, action.runId, (item) => (item.action ? { ...item, action: { ...item.action, submitted: true } } : item));
    case "send/start": {
      const key = `local-${state.localKeys + 1}`;
      return {
        ...state,
        localKeys: state.localKeys + 1,
        items: [...state.items, userItem({ key, text: action.text, pending: true, images: action.images })],
        connection: "sending",
        composerError: null,
      };
    }
    case "stop/requested":
      return { ...state, stopRequested: action.runId };
    case "regenerate/start":
      return { ...state, connection: "sending", composerError: null };
    case "edit/start":
      return { ...state, connection: "sending", composerError: null, pendingEdit: { messageId: action.messageId, text: action.text } };
    case "composer/error":
      return { ...state, composerError: action.message };
    case "composer/dismiss":
      return state.composerError === null ? state : { ...state, composerError: null };
    default:
      return state;
  }
}

/** A minimal store: `dispatch` runs the reducer and tells the listeners (state, previous, action). */
export function createStore(state = initialState()) {
  const listeners = [];
  return {
    get state() { return state; },
    dispatch(action) {
      const previous = state;
      state = reduce(state, action);
      if (state !== previous) for (const listener of listeners) listener(state, previous, action);
      return state;
    },
    subscribe(listener) { listeners.push(listener); },
  };
}
