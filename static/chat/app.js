// The chat page's wiring: the modules, the page's event listeners, and one render function
// that draws everything the state (state.js) says. What happens goes to the store as an
// action (through the session, session.js); the store calls `render` after every change.
// docs/ui.md describes the modules.

import { Attachments } from "./attachments.js";
import { createApi, signInAgain } from "./api.js";
import { AssistantEditor, assistantLabel } from "./assistants.js";
import { $, h, hydrateIcons, icon } from "./dom.js";
import { Layout, Scroller, applyTheme, confirmDialog, notify as toast, storedTheme } from "./page.js";
import { AssistantPicker } from "./picker.js";
import { ChatSession } from "./session.js";
import { Sidebar, threadTitle, titleFromText } from "./sidebar.js";
import { activeRun, canSend, createStore, lastRun, showEmpty } from "./state.js";
import { Transcript } from "./transcript.js";

const config = JSON.parse($("#entities-config").textContent);
const api = createApi(config.apiBase);
const els = Object.fromEntries(Object.entries({
  app: "#app", threadList: "#thread-list", search: "#thread-search", newChat: "#new-chat", newChatTop: "#new-chat-top",
  toggleSidebar: "#toggle-sidebar", closeSidebar: "#close-sidebar", backdrop: "#backdrop",
  assistantSelect: "#assistant-select", editAssistant: "#edit-assistant", addAssistant: "#add-assistant",
  backend: "#backend", connection: "#connection", scroller: "#transcript", messages: "#messages",
  empty: "#empty", emptyAssistant: "#empty-assistant", emptyTalking: "#empty-talking", emptyNone: "#empty-none",
  emptyCreate: "#empty-create", demoNote: "#demo-note", jump: "#jump", composer: "#composer", prompt: "#prompt",
  send: "#send", stop: "#stop", attach: "#attach", attachInput: "#attach-input", attachList: "#attach-list", composerBackend: "#composer-backend", composerError: "#composer-error", backendWarning: "#backend-warning", exportLinks: "#export", exportMd: "#export-md", exportJson: "#export-json", toasts: "#toasts",
}).map(([name, selector]) => [name, $(selector)]));

const notify = (message, kind) => toast(els.toasts, message, kind);
const store = createStore();
const scroller = new Scroller(els.scroller, els.jump);
const layout = new Layout({ app: els.app, backdrop: els.backdrop, toggle: els.toggleSidebar, search: els.search });

const picker = new AssistantPicker({
  api, defaultInference: config.defaultInference, els, notify,
  onChange: () => { transcript.relabel(); render(store.state); },
});

const transcript = new Transcript(els.messages, {
  changed: () => scroller.follow(),
  isRegistered: (name) => editor.isRegistered(name),
  describe: (item) => picker.describe(item.assistantId, item.model),
  regenerate: () => session.regenerate(picker.current()),
  edit: (messageId, text) => session.edit(picker.current(), messageId, text),
  selectVersion: (versionId) => session.selectVersion(versionId),
  submitOutputs: (runId, outputs) => session.submitToolOutputs(runId, outputs),
});

const session = new ChatSession({
  api, pageApi: createApi(""), config, store,
  hooks: {
    assistant: () => picker.current(),
    notify,
    threadCreated(thread, text) {
      history.pushState({ threadId: thread.id }, "", `/c/${thread.id}`);
      // The server titles the thread from its first message, the same way; show it now.
      sidebar.upsert({ ...thread, title: thread.title || titleFromText(text) });
      sidebar.setActive(thread.id);
      setDocumentTitle();
    },
    returnText(text) {
      if (!els.prompt.value.trim()) els.prompt.value = text;
      autosize();
    },
    gone(reason) {
      if (reason === "unauthenticated") return signInAgain();
      notify("That chat no longer exists.");
      sidebar.refresh();
      return newChat();
    },
  },
});

// --- drawing the state ----------------------------------------------------------------------

const CONNECTION_TEXT = { connecting: "Connecting…", reconnecting: "Reconnecting…" };

function render(state, previous = null) {
  transcript.render(state);
  if (!previous || state.threadId !== previous.threadId) { // the export links follow the open chat
    els.exportLinks.hidden = !state.threadId;
    const base = state.threadId ? `${config.historyUrl}${encodeURIComponent(state.threadId)}/export?format=` : "";
    els.exportMd.href = state.threadId ? `${base}md` : "#";
    els.exportJson.href = state.threadId ? `${base}json` : "#";
  }
  const empty = showEmpty(state);
  els.empty.hidden = !empty;
  els.messages.hidden = empty;
  els.messages.setAttribute("aria-busy", state.connection === "loading" ? "true" : "false");
  els.connection.textContent = CONNECTION_TEXT[state.socket] || "";
  els.connection.hidden = !CONNECTION_TEXT[state.socket];
  if (state.composerError !== (previous && previous.composerError)) renderComposerError(state.composerError);
  const active = activeRun(state);
  els.send.hidden = !!active;
  els.stop.hidden = !active;
  els.stop.disabled = !!active && (active.status === "cancelling" || state.stopRequested === active.id);
  els.send.disabled = !["idle", "open"].includes(state.connection) || !els.prompt.value.trim();
  els.composer.classList.toggle("busy", !!active || state.connection === "sending");
}

function renderComposerError(message) {
  els.composerError.hidden = !message;
  if (!message) return;
  els.composerError.replaceChildren(icon("alert", { size: 16 }), h("span", { text: message }),
    h("button", { type: "button", class: "icon-btn small", "aria-label": "Dismiss", onclick: () => store.dispatch({ type: "composer/dismiss" }) }, icon("x", { size: 14 })));
}

// Which backends answer, before anything is sent: the badge, the composer and the editor say
// so (GET /ui/backends, probed by the server; again every 30 s and when the editor opens).
const uiApi = createApi("");
let backends = null;
async function refreshBackends() {
  try {
    backends = await uiApi.get(config.backendsUrl);
    picker.setBackends(backends.data);
    editor.showBackends(backends.data, backends.routes);
  } catch (problem) { /* stays "unknown"; the next round tries again */ }
}
setInterval(refreshBackends, 30_000);

store.subscribe((state, previous, action) => {
  render(state, previous);
  if (action.type === "history/loaded") afterHistory(state, previous);
  if (action.type === "history/earlier") keepReading();
  // Sending and a reply's end are activity: the chat moves to the top of the list.
  if ((action.type === "socket/accepted" && action.frame.request_type !== "cancel")
      || (action.type === "run/event" && /^thread\.run\.(completed|failed|cancelled|expired|incomplete)$/.test(action.frame.event))) {
    if (state.threadId) sidebar.touch(state.threadId);
  }
  // A first reply from a real model may rename the chat on the server, just after it ends.
  if (action.type === "run/event" && action.frame.event === "thread.run.completed" && state.threadId
      && state.items.filter((item) => item.kind === "run").length === 1) sidebar.followTitle(state.threadId);
});

// Scrolling near the top loads the earlier page; what the reader was looking at stays put
// (measured from the bottom, again after the new replies' Markdown is drawn).
let fromBottom = 0;
els.scroller.addEventListener("scroll", () => {
  fromBottom = els.scroller.scrollHeight - els.scroller.scrollTop;
  if (els.scroller.scrollTop < 400 && store.state.hasMore) session.loadEarlier();
}, { passive: true });

function keepReading() {
  const keep = fromBottom;
  const apply = () => { els.scroller.scrollTop = els.scroller.scrollHeight - keep; };
  apply();
  requestAnimationFrame(() => requestAnimationFrame(apply));
}

function afterHistory(state, previous) {
  const newest = lastRun(state);
  if (newest && picker.byId(newest.assistantId)) picker.select(newest.assistantId, { persist: false });
  if (previous.connection === "loading") scroller.toBottom();
  else scroller.follow();
}

function setDocumentTitle() {
  const threadId = store.state.threadId;
  const thread = threadId && sidebar.get(threadId);
  document.title = thread ? `${threadTitle(thread)} · Entities` : "Entities";
}

// --- actions ----------------------------------------------------------------------------

async function openThread(threadId, { push = true } = {}) {
  sidebar.setActive(threadId);
  if (push && location.pathname !== `/c/${threadId}`) history.pushState({ threadId }, "", `/c/${threadId}`);
  layout.closeDrawer();
  const found = await session.open(threadId);
  if (store.state.threadId !== threadId) return;
  if (!found) {
    notify("That chat no longer exists.");
    newChat();
    return;
  }
  setDocumentTitle();
  if (push) els.prompt.focus(); // opened from the list: the next thing is typing (not a reload or Back)
}

function newChat({ push = true } = {}) {
  session.newChat();
  sidebar.setActive(null);
  if (push && location.pathname !== "/") history.pushState({}, "", "/");
  setDocumentTitle();
  layout.closeDrawer();
  els.prompt.focus();
}

function send() {
  const text = els.prompt.value;
  if (!text.trim() || !canSend(store.state)) return;
  const assistant = picker.current();
  if (!assistant) {
    store.dispatch({ type: "composer/error", message: "Create an assistant first: it decides which model answers." });
    openEditor(null);
    return;
  }
  if (attachments.busy()) {
    store.dispatch({ type: "composer/error", message: "Wait until the attached files are uploaded." });
    return;
  }
  const files = { fileIds: attachments.ids(), images: attachments.images() };
  els.prompt.value = "";
  attachments.clear();
  autosize();
  scroller.toBottom();
  session.send(text, assistant, files);
}

function stop() {
  session.stop();
  els.prompt.focus(); // the Stop button goes away: keep focus where the next message is typed
}

function openEditor(assistant) {
  const defaults = { name: picker.assistants.length ? "" : "My assistant", model: config.defaultModel };
  editor.open(assistant, defaults).catch((problem) => notify(problem.message));
}

function autosize() {
  const prompt = els.prompt;
  prompt.style.height = "auto";
  prompt.style.height = `${Math.min(prompt.scrollHeight, 240)}px`;
  render(store.state, store.state);
}

// --- wiring -----------------------------------------------------------------------------

const editor = new AssistantEditor($("#assistant-dialog"), {
  api,
  functionsUrl: config.functionsUrl,
  defaultType: config.defaultInference,
  confirm: confirmDialog,
  onSaved: async (assistant) => {
    await picker.refresh();
    picker.select(assistant.id);
    store.dispatch({ type: "composer/dismiss" }); // "Create an assistant first" is answered now
    notify(`Saved “${assistantLabel(assistant)}”.`, "ok");
    els.prompt.focus();
  },
  onDeleted: async (id) => {
    picker.forget(id);
    await picker.refresh();
  },
});

const sidebar = new Sidebar({
  list: els.threadList,
  search: els.search,
  api,
  confirm: confirmDialog,
  notify,
  onOpen: (threadId) => openThread(threadId),
  onDeleted: (threadId) => { if (threadId === store.state.threadId) newChat(); },
});

function onKey(event) {
  const mod = event.ctrlKey || event.metaKey;
  if (mod && event.shiftKey && event.key.toLowerCase() === "o") {
    event.preventDefault();
    newChat();
  } else if (mod && !event.shiftKey && event.key.toLowerCase() === "k") {
    event.preventDefault();
    if (!layout.sidebarShown()) layout.setSidebar(true);
    els.search.focus();
    els.search.select();
  } else if (event.key === "Escape" && layout.drawerOpen) {
    layout.setSidebar(false);
    els.toggleSidebar.focus();
  } else if (event.key === "/" && !mod && !/^(INPUT|TEXTAREA|SELECT)$/.test(document.activeElement.tagName) && !document.querySelector("dialog[open]")) {
    event.preventDefault();
    els.prompt.focus();
  }
}

const attachments = new Attachments({
  list: els.attachList,
  onError: (message) => store.dispatch({ type: "composer/error", message }),
});

function wire() {
  attachments.wire({ button: els.attach, input: els.attachInput, target: els.composer, pasteTarget: els.prompt });
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
  els.newChatTop.addEventListener("click", () => newChat());  // phones: without opening the chat list
  els.toggleSidebar.addEventListener("click", () => layout.setSidebar(!layout.sidebarShown()));
  els.closeSidebar.addEventListener("click", () => layout.setSidebar(false));
  els.backdrop.addEventListener("click", () => layout.setSidebar(false));
  els.assistantSelect.addEventListener("change", () => picker.select(els.assistantSelect.value));
  els.editAssistant.addEventListener("click", () => openEditor(picker.current()));
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
  document.addEventListener("keydown", onKey);
}

// The theme first, before anything is drawn in the wrong colours.
const themeSelect = $("#theme-select");
applyTheme(storedTheme(), themeSelect);
themeSelect.addEventListener("change", () => applyTheme(themeSelect.value, themeSelect));

async function boot() {
  hydrateIcons();
  wire();
  layout.setSidebar(!layout.isNarrow);
  render(store.state);
  const { epoch } = store.state;
  refreshBackends(); // not awaited: probing a server that is down takes a couple of seconds
  await Promise.all([picker.refresh(), editor.loadFunctions(), sidebar.refresh()]);
  if (store.state.epoch === epoch) { // unless a click already opened something
    if (config.threadId) await openThread(config.threadId, { push: false });
    else newChat({ push: false });
  }
  els.app.classList.add("ready");
}

boot();
