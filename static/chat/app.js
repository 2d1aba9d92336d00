// The chat page: wires the sidebar, the assistant picker, the transcript and the socket.
//
// Loading a thread: its messages, runs and tool steps come from REST; then the socket's
// `ready` frame says whether a run is still going, and if so we subscribe from seq 0 and
// rebuild the reply from the replayed events (keyed by id, so nothing is shown twice).

import { createApi, listAll, signInAgain } from "./api.js";
import { AssistantEditor, assistantLabel, backendBadge, backendOf, loadAssistants } from "./assistants.js";
import { $, h, hydrateIcons, icon } from "./dom.js";
import { Sidebar, threadTitle, titleFromText } from "./sidebar.js";
import { CLOSE_UNAUTHENTICATED, ThreadSocket } from "./socket.js";
import { Transcript, isActive, textOf } from "./transcript.js";

const config = JSON.parse($("#entities-config").textContent);
const api = createApi(config.apiBase);
const STORED_ASSISTANT = "entities.assistant";

const els = {
  app: $("#app"),
  threadList: $("#thread-list"),
  search: $("#thread-search"),
  newChat: $("#new-chat"),
  toggleSidebar: $("#toggle-sidebar"),
  closeSidebar: $("#close-sidebar"),
  backdrop: $("#backdrop"),
  assistantSelect: $("#assistant-select"),
  editAssistant: $("#edit-assistant"),
  addAssistant: $("#add-assistant"),
  backend: $("#backend"),
  connection: $("#connection"),
  scroller: $("#transcript"),
  messages: $("#messages"),
  empty: $("#empty"),
  emptyAssistant: $("#empty-assistant"),
  emptyTalking: $("#empty-talking"),
  emptyNone: $("#empty-none"),
  emptyCreate: $("#empty-create"),
  demoNote: $("#demo-note"),
  jump: $("#jump"),
  composer: $("#composer"),
  prompt: $("#prompt"),
  send: $("#send"),
  stop: $("#stop"),
  composerBackend: $("#composer-backend"),
  composerError: $("#composer-error"),
  toasts: $("#toasts"),
};

const state = {
  assistants: [],
  assistantId: localStorage.getItem(STORED_ASSISTANT),
  threadId: null,
  socket: null,
  readyCount: 0,
  gen: 0, // bumped whenever the open thread changes; stale async work checks it
  sending: false,
  pendingUser: null,
  resyncing: false,
  historyActive: false,
  loading: true, // booting, or drawing a thread: sending waits until it is shown
};

// --- small UI services ------------------------------------------------------------------

function notify(message, kind = "error") {
  const toast = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    icon(kind === "error" ? "alert" : "check", { size: 16 }), h("span", { text: message }));
  els.toasts.append(toast);
  setTimeout(() => toast.remove(), 6000);
}

function showComposerError(message) {
  els.composerError.replaceChildren(icon("alert", { size: 16 }), h("span", { text: message }),
    h("button", { type: "button", class: "icon-btn small", "aria-label": "Dismiss", onclick: () => { els.composerError.hidden = true; } }, icon("x", { size: 14 })));
  els.composerError.hidden = false;
}

function confirmDialog(message, actionLabel) {
  const dialog = $("#confirm-dialog");
  $("#confirm-message").textContent = message;
  $("#confirm-ok").textContent = actionLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

const scroller = {
  stick: true,
  init() {
    const el = els.scroller;
    el.addEventListener("scroll", () => {
      this.stick = this.nearBottom();
      els.jump.hidden = this.stick;
    }, { passive: true });
    // A wheel turn upwards means "let me read": stop following before the next token lands.
    el.addEventListener("wheel", (event) => { if (event.deltaY < 0) this.stick = false; }, { passive: true });
    els.jump.addEventListener("click", () => this.toBottom());
  },
  nearBottom() {
    const el = els.scroller;
    return el.scrollHeight - el.scrollTop - el.clientHeight < 64;
  },
  follow() {
    if (this.stick) els.scroller.scrollTop = els.scroller.scrollHeight;
    else els.jump.hidden = this.nearBottom();
  },
  toBottom() {
    this.stick = true;
    els.scroller.scrollTop = els.scroller.scrollHeight;
    els.jump.hidden = true;
  },
};

// --- assistants -----------------------------------------------------------------------

const currentAssistant = () => state.assistants.find((a) => a.id === state.assistantId) || null;
const assistantById = (id) => state.assistants.find((a) => a.id === id) || null;

function selectAssistant(id, { persist = true } = {}) {
  if (!assistantById(id)) return;
  state.assistantId = id;
  if (persist) localStorage.setItem(STORED_ASSISTANT, id);
  renderAssistantPicker();
}

function renderAssistantPicker() {
  const select = els.assistantSelect;
  if (!state.assistants.length) {
    select.replaceChildren(h("option", { value: "", text: "No assistants yet" }));
    select.disabled = true;
  } else {
    select.disabled = false;
    select.replaceChildren(...state.assistants.map((a) => h("option", { value: a.id, text: assistantLabel(a) })));
    if (!currentAssistant()) state.assistantId = state.assistants[0].id;
    select.value = state.assistantId;
  }
  els.editAssistant.disabled = !state.assistants.length;
  const assistant = currentAssistant();
  const badge = assistant ? backendBadge(assistant.model, config.defaultInference) : null;
  els.backend.replaceChildren(...(badge ? [badge] : []));
  els.composerBackend.replaceChildren(...(assistant ? ["Replies from ", backendBadge(assistant.model, config.defaultInference)] : []));
  els.emptyAssistant.textContent = assistant ? assistantLabel(assistant) : "";
  els.prompt.placeholder = assistant ? `Message ${assistantLabel(assistant)}…` : "Create an assistant to start chatting";
  els.emptyCreate.hidden = !!assistant;
  els.emptyTalking.hidden = !assistant;
  els.emptyNone.hidden = !!assistant;
  els.demoNote.hidden = !(assistant && backendOf(assistant.model, config.defaultInference) === "demo");
  for (const view of transcript.runs.values()) if (view.run) ctx.describeRun(view, view.run);
  updateComposer();
}

async function refreshAssistants() {
  try {
    state.assistants = await loadAssistants(api);
  } catch (problem) {
    notify(problem.message);
  }
  renderAssistantPicker();
}

// --- the transcript ---------------------------------------------------------------------

const ctx = {
  changed: () => scroller.follow(),
  isRegistered: (name) => editor.isRegistered(name),
  describeRun(view, run) {
    const assistant = assistantById(run.assistant_id);
    const name = assistant ? assistantLabel(assistant) : "Assistant";
    view.setLabel(name, run.model ? backendBadge(run.model, config.defaultInference) : "");
  },
  renderFooter(view) {
    const last = transcript.lastRun() === view;
    view.renderFooter({ canRegenerate: last && !transcript.activeRun() && !state.sending && transcript.users.length > 0, onRegenerate: regenerate });
  },
};

const transcript = new Transcript(els.messages, ctx);

function showEmpty(show) {
  els.empty.hidden = !show;
  els.messages.hidden = show;
}

function userTimes() {
  return transcript.users.map((view) => [view, view.createdAt || 0]);
}

function fillSteps(view, steps) {
  for (const step of steps || []) {
    if (step.type === "tool_calls") view.step(step.id).setCalls(step.step_details.tool_calls, step.status);
    else if (step.step_details && step.step_details.message_creation) view.message(step.step_details.message_creation.message_id);
  }
}

function showRequiredAction(view, run) {
  const calls = (run.required_action && run.required_action.submit_tool_outputs && run.required_action.submit_tool_outputs.tool_calls) || [];
  if (calls.length) view.showRequiredAction(calls, submitToolOutputs);
}

/** Draw the thread from REST: messages, then each run's tool steps and outcome. */
async function renderHistory(threadId, gen) {
  const [page, runs] = await Promise.all([
    api.get(`/threads/${threadId}/messages`, { limit: 100, order: "desc" }),
    listAll(api, `/threads/${threadId}/runs`, { order: "desc" }, 100),
  ]);
  if (gen !== state.gen) return false;
  const stepLists = new Map(await Promise.all(runs.filter((run) => (run.tools || []).length).map(async (run) =>
    [run.id, await listAll(api, `/threads/${threadId}/runs/${run.id}/steps`, { order: "asc" }, 100).catch(() => [])])));
  if (gen !== state.gen) return false;

  transcript.clear();
  for (const message of page.data.slice().reverse()) {
    if (message.role === "user") {
      transcript.addUser({ id: message.id, text: textOf(message.content) }).createdAt = message.created_at;
      continue;
    }
    const runId = message.run_id || `orphan-${message.id}`;
    let view = transcript.run(runId);
    if (!view) {
      view = transcript.ensureRun(runId);
      fillSteps(view, stepLists.get(runId));
      if (!message.run_id) view.setRun({ id: runId, status: "completed", assistant_id: message.assistant_id, model: null, last_error: null });
    }
    view.message(message.id).setText(textOf(message.content), message.status);
  }
  // Runs that left no message: a failure, a stop, or a request for a client-side tool's
  // output. One followed by a newer run before the next user message was replaced by
  // "regenerate" (as is every completed run without a message), so it is not shown.
  const age = new Map(runs.map((run, index) => [run.id, index])); // 0 = the newest
  for (const run of runs.slice().reverse()) {
    if (transcript.run(run.id) || run.status === "completed") continue;
    const next = userTimes().find(([, created]) => created > run.created_at);
    const replaced = runs.some((other) => age.get(other.id) < age.get(run.id) && (!next || other.created_at < next[1]));
    if (replaced && !isActive(run.status)) continue;
    const view = transcript.ensureRun(run.id);
    if (next) els.messages.insertBefore(view.el, next[0].el);
    fillSteps(view, stepLists.get(run.id));
  }
  for (const run of runs) {
    const view = transcript.run(run.id);
    if (!view) continue;
    view.setRun(run);
    if (run.status === "requires_action") showRequiredAction(view, run);
  }
  if (runs.length && assistantById(runs[0].assistant_id)) selectAssistant(runs[0].assistant_id, { persist: false });
  state.historyActive = runs.some((run) => isActive(run.status));
  showEmpty(transcript.isEmpty);
  transcript.refreshFooters();
  updateComposer();
  return true;
}

// --- opening threads --------------------------------------------------------------------

function closeSocket() {
  if (state.socket) state.socket.close();
  state.socket = null;
  els.connection.hidden = true;
}

function connectSocket(threadId) {
  closeSocket();
  state.readyCount = 0;
  const socket = new ThreadSocket(`${config.wsPath}${threadId}/`, {
    onFrame: (frame) => { if (state.socket === socket) onFrame(frame); },
    onState: (status, code) => { if (state.socket === socket) onSocketState(status, code); },
  });
  state.socket = socket;
  socket.connect();
  return socket;
}

function setDocumentTitle() {
  const thread = state.threadId && sidebar.get(state.threadId);
  document.title = thread ? `${threadTitle(thread)} · Entities` : "Entities";
}

async function openThread(threadId, { push = true } = {}) {
  const gen = ++state.gen;
  closeSocket();
  state.threadId = threadId;
  state.pendingUser = null;
  sidebar.setActive(threadId);
  if (push && location.pathname !== `/c/${threadId}`) history.pushState({ threadId }, "", `/c/${threadId}`);
  closeDrawer();
  els.composerError.hidden = true;
  transcript.clear();
  showEmpty(false);
  state.loading = true;
  updateComposer();
  els.messages.setAttribute("aria-busy", "true");
  try {
    if (!(await renderHistory(threadId, gen))) return;
  } catch (problem) {
    if (gen !== state.gen) return;
    notify(problem.status === 404 ? "That chat no longer exists." : problem.message);
    if (problem.status === 404) newChat();
    else state.loading = false;
    return;
  } finally {
    els.messages.setAttribute("aria-busy", "false");
  }
  setDocumentTitle();
  connectSocket(threadId);
  state.loading = false;
  updateComposer();
  scroller.toBottom();
}

function newChat({ push = true } = {}) {
  state.gen += 1;
  closeSocket();
  state.threadId = null;
  state.pendingUser = null;
  state.historyActive = false;
  state.loading = false;
  transcript.clear();
  sidebar.setActive(null);
  if (push && location.pathname !== "/") history.pushState({}, "", "/");
  showEmpty(true);
  els.composerError.hidden = true;
  setDocumentTitle();
  updateComposer();
  closeDrawer();
  els.prompt.focus();
}

async function resync() {
  if (state.resyncing || !state.threadId) return;
  state.resyncing = true;
  const gen = state.gen;
  try {
    await renderHistory(state.threadId, gen);
  } catch (problem) {
    notify(problem.message);
  } finally {
    state.resyncing = false;
  }
  if (gen !== state.gen) return;
  const active = transcript.activeRun();
  if (active) replayFrom(active, 0);
  scroller.follow();
}

function replayFrom(view, afterSeq) {
  if (afterSeq === 0) view.resetForReplay();
  state.socket && state.socket.send({ type: "subscribe", run_id: view.id, after_seq: afterSeq });
}

async function refreshRun(runId) {
  if (!state.threadId) return;
  const gen = state.gen;
  try {
    const run = await api.get(`/threads/${state.threadId}/runs/${runId}`);
    const view = gen === state.gen && transcript.run(runId);
    if (view && view.status !== run.status) {
      view.setRun(run);
      afterRunChange();
    }
  } catch { /* the next event or reload tells */ }
}

// --- socket frames ----------------------------------------------------------------------

function onSocketState(status, code) {
  els.connection.hidden = status === "open";
  els.connection.textContent = status === "reconnecting" ? "Reconnecting…" : status === "connecting" ? "Connecting…" : "";
  if (status === "gone") {
    els.connection.hidden = true;
    if (code === CLOSE_UNAUTHENTICATED) signInAgain();
    else {
      notify("That chat no longer exists.");
      sidebar.refresh();
      newChat();
    }
  }
}

function onFrame(frame) {
  switch (frame.type) {
    case "ready": return onReady(frame);
    case "accepted": return onAccepted(frame);
    case "event": return applyEvent(frame);
    case "error": return onError(frame);
    case "thread.run": return onThreadRun(frame);
    default: return undefined; // pong, done
  }
}

function onReady(frame) {
  state.readyCount += 1;
  const active = frame.active_run;
  if (state.readyCount > 1 && state.sending) {
    // The socket dropped between our `send` and its answer: the stored thread decides.
    state.sending = false;
    state.pendingUser = null;
    return resync();
  }
  if (active) {
    const view = transcript.run(active.id);
    if (!view) return resync(); // started after our REST snapshot (another tab, an SDK)
    view.setRun(active);
    replayFrom(view, state.readyCount === 1 ? 0 : view.lastSeq);
  } else if (state.readyCount === 1 ? state.historyActive : transcript.activeRun()) {
    resync(); // it ended between the REST snapshot and this socket (or while disconnected)
  }
  return undefined;
}

function onThreadRun(frame) {
  // Only a hint (these notices can arrive out of order): a run we show as active that is
  // said to have ended is checked over REST, since no more events may come for it (a run
  // cancelled while waiting for tool output has no relay).
  const view = transcript.run(frame.run_id);
  if (view && view.active && !isActive(frame.status)) setTimeout(() => { if (view.active) refreshRun(view.id); }, 300);
}

function onAccepted(frame) {
  const assistant = currentAssistant();
  if (frame.request_type === "send" || frame.request_type === "regenerate") {
    if (frame.request_type === "send" && state.pendingUser) {
      state.pendingUser.setId(frame.message_id);
      state.pendingUser.el.classList.remove("pending");
      state.pendingUser.createdAt = Math.floor(Date.now() / 1000);
      state.pendingUser = null;
    }
    if (frame.request_type === "regenerate") transcript.removeRepliesAfterLastUser();
    const view = transcript.ensureRun(frame.run_id);
    if (!view.run) {
      view.status = "queued";
      view.el.dataset.status = "queued";
      if (assistant) ctx.describeRun(view, { assistant_id: assistant.id, model: assistant.model });
    }
    state.sending = false;
  } else if (frame.request_type === "cancel" && !isActive(frame.status)) {
    refreshRun(frame.run_id);
  } else if (frame.request_type === "submit_tool_outputs") {
    const view = transcript.run(frame.run_id);
    if (view) view.clearAction();
  }
  afterRunChange();
}

function onError(frame) {
  const message = (frame.error && frame.error.message) || "Something went wrong.";
  if (frame.request_type === "send" && state.pendingUser) {
    const failed = state.pendingUser;
    state.pendingUser = null;
    failed.el.remove();
    transcript.users = transcript.users.filter((view) => view !== failed);
    if (!els.prompt.value.trim()) els.prompt.value = failed.text;
    autosize();
  }
  if (frame.request_type === "submit_tool_outputs") {
    const view = transcript.activeRun();
    if (view && view.status === "requires_action") showRequiredAction(view, view.run);
  }
  state.sending = false;
  showEmpty(transcript.isEmpty);
  showComposerError(message);
  afterRunChange();
}

function applyEvent({ run_id: runId, seq, event: name, data }) {
  if (state.resyncing) return;
  const view = transcript.run(runId);
  if (!view) {
    resync(); // a run this page did not start: redraw, then follow it from its start
    return;
  }
  // Deltas are the only events that are not idempotent: never apply one twice.
  if (name.endsWith(".delta") && seq && seq <= view.lastSeq) return;
  if (seq) view.lastSeq = Math.max(view.lastSeq, seq);

  if (name.startsWith("thread.run.step.")) {
    if (name === "thread.run.step.delta") {
      const calls = data.delta && data.delta.step_details && data.delta.step_details.tool_calls;
      if (calls) view.step(data.id).applyDelta(calls);
    } else if (data.type === "tool_calls") {
      const calls = data.step_details ? data.step_details.tool_calls : [];
      const step = view.step(data.id);
      if (name === "thread.run.step.created" || calls.length) step.setCalls(calls, data.status);
      else step.status = data.status;
    }
  } else if (name.startsWith("thread.run.")) {
    view.setRun(data);
    if (data.status === "requires_action") showRequiredAction(view, data);
    afterRunChange();
  } else if (name === "thread.message.created") {
    view.message(data.id).setText(textOf(data.content), "in_progress");
    view.update();
  } else if (name === "thread.message.delta") {
    const message = view.message(data.id);
    if (message.status !== "in_progress") {
      message.setStatus("in_progress");
      view.update();
    }
    for (const part of (data.delta && data.delta.content) || []) {
      if (part.type === "text" && part.text && part.text.value) message.append(part.text.value);
    }
  } else if (name === "thread.message.completed" || name === "thread.message.incomplete") {
    view.message(data.id).setText(textOf(data.content), data.status);
    view.update();
  }
}

function afterRunChange() {
  transcript.refreshFooters();
  updateComposer();
}

// --- actions ----------------------------------------------------------------------------

function updateComposer() {
  const active = transcript.activeRun();
  els.send.hidden = !!active;
  els.stop.hidden = !active;
  els.stop.disabled = !!active && active.status === "cancelling";
  els.send.disabled = state.sending || state.loading || !els.prompt.value.trim();
  els.composer.classList.toggle("busy", !!active || state.sending);
}

async function send() {
  const text = els.prompt.value;
  if (!text.trim() || state.sending || state.loading || transcript.activeRun()) return;
  const assistant = currentAssistant();
  if (!assistant) {
    showComposerError("Create an assistant first: it decides which model answers.");
    openEditor(null);
    return;
  }
  els.composerError.hidden = true;
  state.sending = true;
  els.prompt.value = "";
  autosize();
  showEmpty(false);
  const view = transcript.addUser({ id: null, text });
  view.el.classList.add("pending");
  state.pendingUser = view;
  scroller.toBottom();
  afterRunChange();
  const gen = state.gen;
  try {
    if (!state.threadId) {
      const thread = await api.post("/threads", {});
      if (gen !== state.gen) return;
      state.threadId = thread.id;
      history.pushState({ threadId: thread.id }, "", `/c/${thread.id}`);
      // The server titles the thread from its first message, the same way; show it now.
      sidebar.upsert({ ...thread, title: thread.title || titleFromText(text) });
      sidebar.setActive(thread.id);
      setDocumentTitle();
      connectSocket(thread.id);
    }
    const socket = state.socket;
    if (!(await socket.ready()) || socket !== state.socket) throw new Error("Could not reach the server over WebSocket; try again.");
    if (!socket.send({ type: "send", content: text, assistant_id: assistant.id })) throw new Error("The connection dropped; try again.");
  } catch (problem) {
    onError({ type: "error", request_type: "send", error: { message: problem.message } });
  }
}

function stop() {
  const view = transcript.activeRun();
  if (!view) return;
  els.stop.disabled = true;
  if (state.socket && state.socket.send({ type: "cancel", run_id: view.id })) return;
  api.post(`/threads/${state.threadId}/runs/${view.id}/cancel`).then((run) => {
    view.setRun(run);
    afterRunChange();
  }).catch((problem) => notify(problem.message));
}

function regenerate() {
  const assistant = currentAssistant();
  if (!assistant || transcript.activeRun() || !state.socket) return;
  state.sending = true;
  afterRunChange();
  if (!state.socket.send({ type: "regenerate", assistant_id: assistant.id })) {
    state.sending = false;
    showComposerError("Not connected to the server; try again in a moment.");
    afterRunChange();
  }
}

async function submitToolOutputs(runId, toolOutputs) {
  if (state.socket && state.socket.send({ type: "submit_tool_outputs", run_id: runId, tool_outputs: toolOutputs })) return;
  await api.post(`/threads/${state.threadId}/runs/${runId}/submit_tool_outputs`, { tool_outputs: toolOutputs });
  const view = transcript.run(runId);
  if (view) view.clearAction();
}

function openEditor(assistant) {
  const defaults = { name: state.assistants.length ? "" : "My assistant", model: config.defaultModel };
  editor.open(assistant, defaults).catch((problem) => notify(problem.message));
}

// --- layout -----------------------------------------------------------------------------

const narrow = window.matchMedia("(max-width: 800px)");

function sidebarShown() {
  return narrow.matches ? els.app.classList.contains("drawer-open") : !els.app.classList.contains("sidebar-collapsed");
}

function setSidebar(show) {
  if (narrow.matches) {
    els.app.classList.toggle("drawer-open", show);
    els.backdrop.hidden = !show;
    if (show) els.search.focus();
  } else {
    els.app.classList.toggle("sidebar-collapsed", !show);
  }
  els.toggleSidebar.replaceChildren(icon(narrow.matches ? "menu" : "panel"));
  els.toggleSidebar.setAttribute("aria-expanded", String(sidebarShown()));
  els.toggleSidebar.setAttribute("aria-label", sidebarShown() ? "Hide sidebar" : "Show sidebar");
}

function closeDrawer() {
  if (narrow.matches && els.app.classList.contains("drawer-open")) setSidebar(false);
}

function autosize() {
  const prompt = els.prompt;
  prompt.style.height = "auto";
  prompt.style.height = `${Math.min(prompt.scrollHeight, 240)}px`;
  updateComposer();
}

// --- wiring -----------------------------------------------------------------------------

const editor = new AssistantEditor($("#assistant-dialog"), {
  api,
  functionsUrl: config.functionsUrl,
  defaultType: config.defaultInference,
  confirm: confirmDialog,
  onSaved: async (assistant) => {
    await refreshAssistants();
    selectAssistant(assistant.id);
    notify(`Saved “${assistantLabel(assistant)}”.`, "ok");
    els.prompt.focus();
  },
  onDeleted: async (id) => {
    if (state.assistantId === id) state.assistantId = null;
    await refreshAssistants();
  },
});

const sidebar = new Sidebar({
  list: els.threadList,
  search: els.search,
  api,
  confirm: confirmDialog,
  notify,
  onOpen: (threadId) => openThread(threadId),
  onDeleted: (threadId) => { if (threadId === state.threadId) newChat(); },
});

function wire() {
  els.composer.addEventListener("submit", (event) => {
    event.preventDefault();
    send();
  });
  els.prompt.addEventListener("keydown", (event) => {
    if (event.key === "Enter" && !event.shiftKey && !event.isComposing) {
      event.preventDefault();
      send();
    }
  });
  els.prompt.addEventListener("input", autosize);
  els.stop.addEventListener("click", stop);
  els.newChat.addEventListener("click", () => newChat());
  els.toggleSidebar.addEventListener("click", () => setSidebar(!sidebarShown()));
  els.closeSidebar.addEventListener("click", () => setSidebar(false));
  els.backdrop.addEventListener("click", () => setSidebar(false));
  narrow.addEventListener("change", () => {
    els.app.classList.remove("drawer-open");
    els.backdrop.hidden = true;
    setSidebar(!narrow.matches && !els.app.classList.contains("sidebar-collapsed"));
  });
  els.assistantSelect.addEventListener("change", () => selectAssistant(els.assistantSelect.value));
  els.editAssistant.addEventListener("click", () => openEditor(currentAssistant()));
  els.addAssistant.addEventListener("click", () => openEditor(null));
  els.emptyCreate.addEventListener("click", () => openEditor(null));
  for (const chip of document.querySelectorAll("[data-prompt]")) {
    chip.addEventListener("click", () => {
      els.prompt.value = chip.dataset.prompt;
      autosize();
      els.prompt.focus();
    });
  }
  window.addEventListener("popstate", () => {
    const match = /^\/c\/([^/]+)$/.exec(location.pathname);
    if (match) openThread(match[1], { push: false });
    else newChat({ push: false });
  });
  document.addEventListener("keydown", (event) => {
    const mod = event.ctrlKey || event.metaKey;
    if (mod && event.shiftKey && event.key.toLowerCase() === "o") {
      event.preventDefault();
      newChat();
    } else if (mod && !event.shiftKey && event.key.toLowerCase() === "k") {
      event.preventDefault();
      if (!sidebarShown()) setSidebar(true);
      els.search.focus();
      els.search.select();
    } else if (event.key === "Escape" && narrow.matches && els.app.classList.contains("drawer-open")) {
      setSidebar(false);
      els.toggleSidebar.focus();
    } else if (event.key === "/" && !mod && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName) && !document.querySelector("dialog[open]")) {
      event.preventDefault();
      els.prompt.focus();
    }
  });
  scroller.init();
}

async function boot() {
  hydrateIcons();
  wire();
  setSidebar(!narrow.matches);
  updateComposer();
  const gen = state.gen;
  await Promise.all([refreshAssistants(), editor.loadFunctions(), sidebar.refresh()]);
  if (state.gen === gen) { // unless a click already opened something
    if (config.threadId) await openThread(config.threadId, { push: false });
    else newChat({ push: false });
  }
  els.app.classList.add("ready");
}

boot();
