// The chat's effects: the thread's WebSocket, its snapshot over HTTP, and the REST fallbacks.
// Each turns what happened into an action for the store (state.js); what to do next is read
// from the state (planAfterReady, eventNeedsResync, …), never from flags kept here.
//
// Loading a thread: its snapshot comes from GET /ui/threads/<id>/history; then the socket's
// `ready` frame says whether a run is still going, and if so we subscribe from seq 0 and
// rebuild the reply from the replayed events (keyed by id and seq, so nothing shows twice).

import { CLOSE_UNAUTHENTICATED, ThreadSocket } from "./socket.js";
import { activeRun, canSend, heldReplays, isActive, eventNeedsResync, findRun, noticeNeedsRefresh, pendingUser, planAfterReady } from "./state.js";

export class ChatSession {
  /**
   * `api` and `pageApi` are REST clients (api.js) for /v1 and for the page's routes.
   * `hooks`: `assistant()` (the one picked for the next message, or null), `notify(message)`,
   * `threadCreated(thread, text)`, `returnText(text)` (a message that could not be sent),
   * `gone(code)` (the socket was refused for good).
   */
  constructor({ api, pageApi, config, store, hooks }) {
    this.api = api; // /v1
    this.pageApi = pageApi; // the page's own routes (/ui/…)
    this.config = config;
    this.store = store;
    this.hooks = hooks;
    this.socket = null;
  }

  get state() { return this.store.state; }

  dispatch(action) { return this.store.dispatch(action); }

  // --- threads --------------------------------------------------------------------------

  /** Draw `threadId` from its snapshot, then follow it over its socket. False if it is gone. */
  async open(threadId) {
    this.closeSocket();
    const { epoch } = this.dispatch({ type: "thread/open", threadId });
    try {
      const snapshot = await this.fetchSnapshot(threadId);
      if (this.state.epoch !== epoch) return true;
      this.dispatch({ type: "history/loaded", epoch, snapshot });
    } catch (problem) {
      if (this.state.epoch !== epoch) return true;
      this.dispatch({ type: "history/failed", epoch });
      if (problem.status === 404) return false;
      this.hooks.notify(problem.message);
      return true;
    }
    this.connect(threadId);
    return true;
  }

  newChat() {
    this.closeSocket();
    this.dispatch({ type: "thread/new" });
  }

  fetchSnapshot(threadId) {
    return this.pageApi.get(`${this.config.historyUrl}${encodeURIComponent(threadId)}/history`);
  }

  /** Redraw the open thread from a fresh snapshot, then follow its active run: the events
   * held meanwhile are replayed over it (state.js), or the run is asked for from its start. */
  async resync() {
    const before = this.state;
    if (this.dispatch({ type: "resync/start" }) === before) return;
    const { epoch, threadId } = this.state;
    let relayed = new Set();
    try {
      const snapshot = await this.fetchSnapshot(threadId);
      relayed = heldReplays(this.state); // their relays go on
      this.dispatch({ type: "history/loaded", epoch, snapshot });
    } catch (problem) {
      this.dispatch({ type: "history/failed", epoch });
      if (this.state.epoch === epoch) this.hooks.notify(problem.message);
    }
    if (this.state.epoch !== epoch) return;
    const active = activeRun(this.state);
    if (active && !relayed.has(active.id)) this.replay(active.id, 0);
  }

  replay(runId, afterSeq) {
    if (afterSeq === 0) this.dispatch({ type: "run/replay", runId });
    if (this.socket) this.socket.send({ type: "subscribe", run_id: runId, after_seq: afterSeq });
  }

  async refreshRun(runId) {
    const { epoch, threadId } = this.state;
    if (!threadId) return;
    try {
      const run = await this.api.get(`/threads/${threadId}/runs/${runId}`);
      if (this.state.epoch === epoch) this.dispatch({ type: "run/refreshed", run });
    } catch { /* the next event or reload tells */ }
  }

  // --- the socket -----------------------------------------------------------------------

  closeSocket() {
    if (this.socket) this.socket.close();
    this.socket = null;
  }

  connect(threadId) {
    this.closeSocket();
    const socket = new ThreadSocket(`${this.config.wsPath}${threadId}/`, {
      onFrame: (frame) => { if (this.socket === socket) this.onFrame(frame); },
      onState: (status, code) => { if (this.socket === socket) this.onSocketState(status, code); },
    });
    this.socket = socket;
    socket.connect();
    return socket;
  }

  onSocketState(status, code) {
    if (status === "open") return; // the `ready` frame that comes with it says more
    this.dispatch({ type: "socket/state", status });
    if (status === "gone") this.hooks.gone(code === CLOSE_UNAUTHENTICATED ? "unauthenticated" : "not_found");
  }

  onFrame(frame) {
    switch (frame.type) {
      case "ready": return this.onReady(frame);
      case "accepted": return this.onAccepted(frame);
      case "event": return this.onEvent(frame);
      case "error": return this.onError(frame);
      case "thread.run": return this.onNotice(frame);
      default: return undefined; // pong, done
    }
  }

  onReady(frame) {
    const plan = planAfterReady(this.state, frame);
    this.dispatch({ type: "socket/ready", frame });
    if (plan.resync) this.resync();
    else if (plan.subscribe) this.replay(plan.subscribe.runId, plan.subscribe.afterSeq);
  }

  onEvent(frame) {
    if (eventNeedsResync(this.state, frame)) this.resync(); // a run this page did not start
    else this.dispatch({ type: "run/event", frame });
  }

  onNotice(frame) {
    // Only a hint (these notices can arrive out of order): a run we show as active that is
    // said to have ended is checked over REST, since no more events may come for it (a run
    // cancelled while waiting for tool output has no relay).
    if (!noticeNeedsRefresh(this.state, frame)) return;
    const { epoch } = this.state;
    setTimeout(() => {
      if (this.state.epoch === epoch && noticeNeedsRefresh(this.state, frame)) this.refreshRun(frame.run_id);
    }, 300);
  }

  onAccepted(frame) {
    const assistant = this.hooks.assistant();
    this.dispatch({ type: "socket/accepted", frame, assistant: assistant && { id: assistant.id, model: assistant.model } });
    if (frame.request_type === "cancel" && !isActive(frame.status)) {
      this.refreshRun(frame.run_id);
    }
  }

  onError(frame) {
    const pending = frame.request_type === "send" ? pendingUser(this.state) : null;
    this.dispatch({ type: "socket/error", frame });
    if (pending) this.hooks.returnText(pending.text);
  }

  // --- actions --------------------------------------------------------------------------

  /** Send `text` to `assistant`, making the thread first in a new chat. */
  async send(text, assistant, { fileIds = [], images = [] } = {}) {
    if (!text.trim() || !canSend(this.state)) return;
    this.dispatch({ type: "send/start", text, images });
    const { epoch } = this.state;
    try {
      if (!this.state.threadId) {
        const thread = await this.api.post("/threads", {});
        if (this.state.epoch !== epoch) return;
        this.dispatch({ type: "thread/created", threadId: thread.id });
        this.hooks.threadCreated(thread, text);
        this.connect(thread.id);
      }
      const socket = this.socket;
      if (!socket || !(await socket.ready()) || socket !== this.socket) throw new Error("Could not reach the server over WebSocket; try again.");
      const frame = { type: "send", content: text, assistant_id: assistant.id };
      if (fileIds.length) frame.file_ids = fileIds;
      if (!socket.send(frame)) throw new Error("The connection dropped; try again.");
    } catch (problem) {
      if (this.state.epoch === epoch) this.onError({ type: "error", request_type: "send", error: { message: problem.message } });
    }
  }

  stop() {
    const active = activeRun(this.state);
    if (!active || this.state.stopRequested === active.id) return;
    this.dispatch({ type: "stop/requested", runId: active.id });
    if (this.socket && this.socket.send({ type: "cancel", run_id: active.id })) return;
    const { epoch, threadId } = this.state;
    this.api.post(`/threads/${threadId}/runs/${active.id}/cancel`).then((run) => {
      if (this.state.epoch === epoch) this.dispatch({ type: "run/refreshed", run });
    }).catch((problem) => {
      this.dispatch({ type: "socket/error", frame: { request_type: "cancel", error: { message: problem.message } } });
    });
  }

  regenerate(assistant) {
    if (!assistant || activeRun(this.state) || !this.socket) return;
    this.dispatch({ type: "regenerate/start" });
    if (!this.socket.send({ type: "regenerate", assistant_id: assistant.id })) {
      this.dispatch({ type: "socket/error", frame: { request_type: "regenerate", error: { message: "Not connected to the server; try again in a moment." } } });
    }
  }

  /** Edit the sent user message `messageId` to `text` and resend it (a new version there). */
  edit(assistant, messageId, text) {
    if (!assistant || activeRun(this.state) || !this.socket || !text.trim()) return;
    this.dispatch({ type: "edit/start", messageId, text });
    if (!this.socket.send({ type: "edit", assistant_id: assistant.id, message_id: messageId, content: text })) {
      this.dispatch({ type: "socket/error", frame: { request_type: "edit", error: { message: "Not connected to the server; try again in a moment." } } });
    }
  }

  /** Show version `versionId` at its place (the server switches the active branch). */
  async selectVersion(versionId) {
    const { epoch, threadId } = this.state;
    if (!threadId || activeRun(this.state)) return;
    try {
      const snapshot = await this.pageApi.post(`${this.config.historyUrl}${encodeURIComponent(threadId)}/versions`, { version: versionId });
      if (this.state.epoch === epoch) this.dispatch({ type: "history/loaded", epoch, snapshot });
    } catch (problem) {
      if (this.state.epoch === epoch) this.hooks.notify(problem.message);
    }
  }

  /** Load the page of entries before the first one shown (scrolling up); once at a time. */
  async loadEarlier() {
    const { epoch, threadId, hasMore, before } = this.state;
    if (!threadId || !hasMore || !before || this.loadingEarlier === before) return false;
    this.loadingEarlier = before;
    try {
      const snapshot = await this.pageApi.get(`${this.config.historyUrl}${encodeURIComponent(threadId)}/history?before=${encodeURIComponent(before)}`);
      this.dispatch({ type: "history/earlier", epoch, before, snapshot });
      return true;
    } catch (problem) {
      if (this.state.epoch === epoch) this.hooks.notify(problem.message);
      return false;
    } finally {
      this.loadingEarlier = null;
    }
  }

  async submitToolOutputs(runId, toolOutputs) {
    if (this.socket && this.socket.send({ type: "submit_tool_outputs", run_id: runId, tool_outputs: toolOutputs })) return;
    await this.api.post(`/threads/${this.state.threadId}/runs/${runId}/submit_tool_outputs`, { tool_outputs: toolOutputs });
    if (findRun(this.state, runId)) this.dispatch({ type: "action/cleared", runId });
  }
}
