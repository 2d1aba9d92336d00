// The assistant picker in the top bar: which assistant answers the next message, and what the
// page says about it (the backend badges, the composer's placeholder, the empty state).

import { assistantLabel, backendBadge, backendOf, loadAssistants } from "./assistants.js";
import { h } from "./dom.js";

const STORED_ASSISTANT = "entities.assistant";

export class AssistantPicker {
  /** `els`: the page's elements; `onChange()` runs after every redraw. */
  constructor({ api, defaultInference, els, notify, onChange }) {
    Object.assign(this, { api, defaultInference, els, notify, onChange });
    this.assistants = [];
    this.selectedId = localStorage.getItem(STORED_ASSISTANT);
    this.backends = null; // type → {ok, error} from /ui/backends; null: not known yet
  }

  /** The backends' states (GET /ui/backends): the badge and the composer say when one is down. */
  setBackends(list) {
    this.backends = new Map((list || []).map((backend) => [backend.type, backend]));
    this.render();
  }

  /** "ok", "down" or "unknown" for `model`'s backend. */
  stateOf(model) {
    const type = backendOf(model, this.defaultInference);
    if (type === "demo") return "ok";
    const backend = this.backends && this.backends.get(type);
    return !backend ? "unknown" : backend.ok ? "ok" : "down";
  }

  badge(model) {
    const badge = backendBadge(model, this.defaultInference);
    const state = this.stateOf(model);
    badge.dataset.state = state;
    if (state !== "ok") {
      badge.append(h("span", { class: "backend-state-text", text: state === "down" ? "· not answering" : "· checking…" }));
      badge.title = `${badge.title} — ${state === "down" ? "this backend is not answering now" : "not checked yet"}`;
    }
    return badge;
  }

  current() {
    return this.byId(this.selectedId);
  }

  byId(id) {
    return this.assistants.find((a) => a.id === id) || null;
  }

  /** Pick `id` for the next message (`persist`: remember it for the next visit too). */
  select(id, { persist = true } = {}) {
    if (!this.byId(id)) return;
    this.selectedId = id;
    if (persist) localStorage.setItem(STORED_ASSISTANT, id);
    this.render();
  }

  forget(id) {
    if (this.selectedId === id) this.selectedId = null;
  }

  async refresh() {
    try {
      this.assistants = await loadAssistants(this.api);
    } catch (problem) {
      this.notify(problem.message);
    }
    this.render();
  }

  /** A run block's label: the assistant's name and the backend badge of the run's model. */
  describe(assistantId, model) {
    const assistant = this.byId(assistantId);
    return { name: assistant ? assistantLabel(assistant) : "Assistant", badge: model ? backendBadge(model, this.defaultInference) : null };
  }

  render() {
    const { els } = this;
    const select = els.assistantSelect;
    if (!this.assistants.length) {
      select.replaceChildren(h("option", { value: "", text: "No assistants yet" }));
      select.disabled = true;
    } else {
      select.disabled = false;
      select.replaceChildren(...this.assistants.map((a) => h("option", { value: a.id, text: assistantLabel(a) })));
      if (!this.current()) this.selectedId = this.assistants[0].id;
      select.value = this.selectedId;
    }
    els.editAssistant.disabled = !this.assistants.length;
    const assistant = this.current();
    const badge = assistant ? this.badge(assistant.model) : null;
    els.backend.replaceChildren(...(badge ? [badge] : []));
    els.composerBackend.replaceChildren(...(assistant ? ["Replies from ", this.badge(assistant.model)] : []));
    const down = assistant && this.stateOf(assistant.model) === "down" ? this.backends.get(backendOf(assistant.model, this.defaultInference)) : null;
    els.backendWarning.hidden = !down;
    els.backendWarning.textContent = down
      ? `The ${backendOf(assistant.model, this.defaultInference)} backend is not answering${down.error ? ` (${down.error.replace(/`/g, "")})` : ""}. A message sent now will fail; start it, or pick an assistant on another backend.`
      : "";
    els.emptyAssistant.textContent = assistant ? assistantLabel(assistant) : "";
    els.prompt.placeholder = assistant ? `Message ${assistantLabel(assistant)}…` : "Create an assistant to start chatting";
    els.emptyCreate.hidden = !!assistant;
    els.emptyTalking.hidden = !assistant;
    els.emptyNone.hidden = !!assistant;
    // A suggestion that needs a tool is offered only to an assistant that has it.
    const tools = new Set(((assistant && assistant.tools) || []).map((tool) => tool.type));
    for (const suggestion of document.querySelectorAll(".suggestion[data-needs]")) suggestion.hidden = !tools.has(suggestion.dataset.needs);
    els.demoNote.hidden = !(assistant && backendOf(assistant.model, this.defaultInference) === "demo");
    this.onChange();
  }
}
