// Assistants: which backend a model belongs to, and the editor (name, model, instructions, tools).

import { listAll } from "./api.js";
import { $, h, icon } from "./dom.js";
import { KnowledgeFiles, storeOf } from "./knowledge.js";

export const BACKENDS = {
  demo: { label: "Demo backend", icon: "flask", group: "Demo — built in, canned replies (not a real model)",
    hint: "The built-in demo: canned replies streamed word by word, no model involved." },
  local: { label: "Local", icon: "server", group: "Local model server", hint: "A model server on this machine or your network." },
  cloud: { label: "Cloud", icon: "cloud", group: "Cloud provider", hint: "An OpenAI-compatible cloud endpoint." },
};

/** "demo/echo" → "demo"; a bare name goes to the server's default inference type. */
export function backendOf(model, defaultType) {
  const at = (model || "").indexOf("/");
  return at > 0 ? model.slice(0, at) : defaultType;
}

export function modelName(model) {
  const at = (model || "").indexOf("/");
  return at > 0 ? model.slice(at + 1) : model || "";
}

export function backendBadge(model, defaultType) {
  const type = backendOf(model, defaultType);
  const info = BACKENDS[type] || { label: type, icon: "server", hint: `The ${type} backend.` };
  return h("span", { class: `backend-badge backend-${type}`, title: `${info.hint} Model: ${model}`, dataset: { backend: type } },
    icon(info.icon, { size: 14 }), h("span", { class: "backend-label", text: info.label }),
    h("span", { class: "backend-model", text: modelName(model) }));
}

export function assistantLabel(assistant) {
  return (assistant && (assistant.name || "").trim()) || "Untitled assistant";
}

export class AssistantEditor {
  constructor(dialog, { api, functionsUrl, defaultType, onSaved, onDeleted, confirm }) {
    this.dialog = dialog;
    this.api = api;
    this.functionsUrl = functionsUrl;
    this.defaultType = defaultType;
    this.onSaved = onSaved;
    this.onDeleted = onDeleted;
    this.confirm = confirm;
    this.form = $("#assistant-form", dialog);
    this.title = $("#assistant-dialog-title", dialog);
    this.modelSelect = $("#assistant-model", dialog);
    this.modelTyped = $("#assistant-model-typed", dialog);
    this.backendList = $("#assistant-backends", dialog);
    this.tools = $("#assistant-tools", dialog);
    this.error = $("#assistant-error", dialog);
    this.deleteButton = $("#assistant-delete", dialog);
    this.saveButton = $("#assistant-save", dialog);
    this.models = null;
    this.functions = null;
    this.form.addEventListener("submit", (event) => {
      event.preventDefault();
      this.save();
    });
    $("#assistant-cancel", dialog).addEventListener("click", () => dialog.close());
    this.deleteButton.addEventListener("click", () => this.remove());
    this.knowledge = new KnowledgeFiles({ api, onStore: (storeId) => this.storeMade(storeId) });
    $(".tools-field", dialog).after(this.knowledge.el);
    dialog.addEventListener("close", () => this.knowledge.close());
  }

  /** GET /v1/models, once (it waits for every backend, up to a couple of seconds offline). */
  loadModels() {
    if (!this.models) {
      this.models = this.api.get("/models").then((page) => page.data.map((m) => m.id)).catch(() => {
        this.models = null; // ask again next time
        return [];
      });
    }
    return this.models;
  }

  async loadFunctions() {
    if (!this.functions) {
      try {
        const response = await fetch(this.functionsUrl, { credentials: "same-origin", headers: { Accept: "application/json" } });
        this.functions = response.ok ? (await response.json()).data : [];
      } catch {
        this.functions = [];
      }
    }
    return this.functions;
  }

  isRegistered(name) {
    return !!(this.functions && this.functions.some((tool) => tool.function.name === name));
  }

  async open(assistant = null, defaults = {}) {
    this.assistant = assistant;
    this.error.hidden = true;
    this.title.textContent = assistant ? "Edit assistant" : "New assistant";
    this.saveButton.textContent = assistant ? "Save changes" : "Create assistant";
    this.deleteButton.hidden = !assistant;
    const functions = await this.loadFunctions();
    const model = (assistant && assistant.model) || defaults.model || "demo/echo";
    this.form.elements.name.value = assistant ? assistant.name || "" : defaults.name || "";
    this.form.elements.instructions.value = assistant ? assistant.instructions || "" : defaults.instructions || "";
    this.fillModels(null, model);
    this.modelTyped.value = "";
    this.fillTools(functions, assistant ? assistant.tools || [] : []);
    if (!this.dialog.open) this.dialog.showModal();
    this.form.elements.name.focus();
    const opened = this.assistant;
    this.openKnowledge(assistant);
    const models = await this.loadModels();
    // The list arrives after the dialog opened: keep whatever the user picked meanwhile.
    if (this.dialog.open && this.assistant === opened) this.fillModels(models, this.modelSelect.value || model);
  }

  /** The knowledge files of the assistant as stored now (the picker's copy may predate an upload). */
  async openKnowledge(assistant) {
    this.stored = assistant;
    const label = () => this.form.elements.name.value.trim() || assistantLabel(this.assistant);
    if (!assistant) return this.knowledge.open(null, label);
    const fresh = await this.api.get(`/assistants/${assistant.id}`).catch(() => assistant);
    if (this.assistant !== assistant) return undefined;
    this.stored = fresh;
    return this.knowledge.open(storeOf(fresh), label);
  }

  /** `tool_resources` with `storeId` as the file_search store (the other resources kept). */
  resourcesWith(storeId) {
    const resources = (this.stored && this.stored.tool_resources) || {};
    const others = ((resources.file_search && resources.file_search.vector_store_ids) || []).filter((id) => id !== storeId);
    return { ...resources, file_search: { vector_store_ids: [storeId, ...others] } };
  }

  fileSearchTool() {
    return ((this.stored && this.stored.tools) || []).find((t) => t.type === "file_search") || { type: "file_search" };
  }

  /** A store was made for the first knowledge file: file_search goes on, and a saved assistant keeps it at once. */
  async storeMade(storeId) {
    this.form.querySelector('input[name="file_search"]').checked = true;
    if (!this.stored) return;
    const tools = [...(this.stored.tools || []).filter((t) => t.type !== "file_search"), this.fileSearchTool()];
    this.stored = await this.api.post(`/assistants/${this.stored.id}`, { tools, tool_resources: this.resourcesWith(storeId) });
  }

  /** The backends' states and the OpenAI-name routes, under the model field. */
  showBackends(backends, routes) {
    drawBackendStates(this.backendList, backends);
    const routesHint = $("#assistant-routes", this.dialog);
    routesHint.textContent = routesText(routes);
    routesHint.hidden = false;
  }

  fillModels(models, current) {
    const groups = new Map();
    const loading = models === null;
    models = models || [];
    for (const id of models.includes(current) ? models : [...models, current]) {
      const type = backendOf(id, this.defaultType);
      if (!groups.has(type)) groups.set(type, []);
      groups.get(type).push(id);
    }
    const order = ["demo", "local", "cloud"];
    const types = Array.from(groups.keys()).sort((a, b) => (order.indexOf(a) + 1 || 99) - (order.indexOf(b) + 1 || 99));
    this.modelSelect.replaceChildren(...types.map((type) => h("optgroup", { label: (BACKENDS[type] || { group: type }).group },
      ...groups.get(type).map((id) => h("option", { value: id, text: loading || models.includes(id) ? id : `${id} (not answering now)` })))));
    this.modelSelect.value = current;
  }

  fillTools(functions, tools) {
    // A server function is on only when the assistant chose it ("server_side": true); a declared
    // function without the marker is the client's, even when a server function has its name.
    const registered = new Set(functions.map((t) => t.function.name));
    const chosen = (t) => t.type === "function" && t.server_side === true && registered.has(t.function.name);
    const enabled = new Set(tools.filter(chosen).map((t) => t.function.name));
    const hasCode = tools.some((t) => t.type === "code_interpreter");
    const hasSearch = tools.some((t) => t.type === "file_search");
    const clientSide = tools.filter((t) => t.type === "function" && !chosen(t));
    this.clientSide = clientSide;
    const row = (name, value, checked, title, description) => h("label", { class: "tool-option" },
      h("input", { type: "checkbox", name, value, checked }),
      h("span", { class: "tool-option-text" }, h("span", { class: "tool-option-name", text: title }),
        description ? h("span", { class: "tool-option-desc", text: description }) : null));
    const parts = [
      h("div", { class: "tool-group-label", text: "Built in" }),
      row("code_interpreter", "1", hasCode, "Code interpreter", "Runs Python in a sandbox on this server."),
      row("file_search", "1", hasSearch, "File search", "Searches the knowledge files below and cites them."),
    ];
    if (functions.length) {
      parts.push(h("div", { class: "tool-group-label", text: "Server functions" }));
      for (const tool of functions) {
        parts.push(row("function", tool.function.name, enabled.has(tool.function.name), tool.function.name, tool.function.description));
      }
    }
    if (clientSide.length) {
      parts.push(h("div", { class: "tool-group-label", text: "Client-side functions (declared through the API; you answer them in the chat)" }));
      for (const tool of clientSide) parts.push(row("client_function", tool.function.name, true, tool.function.name, tool.function.description));
    }
    this.tools.replaceChildren(...parts);
  }

  collectTools() {
    const form = this.form;
    const tools = [];
    if (form.querySelector('input[name="code_interpreter"]').checked) tools.push({ type: "code_interpreter" });
    if (form.querySelector('input[name="file_search"]').checked) tools.push(this.fileSearchTool());
    for (const box of form.querySelectorAll('input[name="function"]:checked')) {
      const spec = this.functions.find((t) => t.function.name === box.value);
      if (spec) tools.push({ ...spec, server_side: true });
    }
    for (const box of form.querySelectorAll('input[name="client_function"]:checked')) {
      const spec = this.clientSide.find((t) => t.function.name === box.value);
      if (spec) tools.push(spec);
    }
    return tools;
  }

  async save() {
    const form = this.form;
    const body = {
      name: form.elements.name.value.trim() || null,
      model: this.modelTyped.value.trim() || this.modelSelect.value,
      instructions: form.elements.instructions.value.trim() || null,
      tools: this.collectTools(),
    };
    if (this.knowledge.storeId) body.tool_resources = this.resourcesWith(this.knowledge.storeId);
    this.saveButton.disabled = true;
    this.error.hidden = true;
    try {
      const saved = this.assistant
        ? await this.api.post(`/assistants/${this.assistant.id}`, body)
        : await this.api.post("/assistants", body);
      this.dialog.close();
      this.onSaved(saved);
    } catch (problem) {
      this.error.textContent = problem.message;
      this.error.hidden = false;
    } finally {
      this.saveButton.disabled = false;
    }
  }

  async remove() {
    if (!this.assistant) return;
    const ok = await this.confirm(`Delete the assistant “${assistantLabel(this.assistant)}”? Its chats stay.`, "Delete assistant");
    if (!ok) return;
    try {
      await this.api.del(`/assistants/${this.assistant.id}`);
      this.dialog.close();
      this.onDeleted(this.assistant.id);
    } catch (problem) {
      this.error.textContent = problem.message;
      this.error.hidden = false;
    }
  }
}

export async function loadAssistants(api) {
  return listAll(api, "/assistants", { order: "desc" });
}

/** The backends' states (GET /ui/backends) as a list: answering (n models) or why not. */
export function drawBackendStates(list, backends) {
  list.replaceChildren(...(backends || []).map((backend) => {
    const info = BACKENDS[backend.type] || { label: backend.type };
    const state = backend.ok ? `answering (${backend.models} model${backend.models === 1 ? "" : "s"})` : `not answering${backend.error ? `: ${backend.error}` : ""}`;
    return h("li", { class: `backend-state ${backend.ok ? "ok" : "down"}`, dataset: { backend: backend.type } },
      h("strong", { text: info.label }), h("span", { text: ` — ${state}` }));
  }));
}

/** "gpt-4o → local/llama3.1" lines for ENTITIES_MODEL_ROUTES, or how to set them. */
export function routesText(routes) {
  if (!routes || !routes.length) return "OpenAI model names (gpt-4o, …) go to the default backend; map them with ENTITIES_MODEL_ROUTES, e.g. gpt-*=cloud or gpt-4o=local/llama3.1.";
  return `OpenAI model names map: ${routes.map((r) => `${r.pattern} → ${r.model}`).join(", ")} (ENTITIES_MODEL_ROUTES).`;
}
