// An assistant's knowledge files, in its editor: uploaded to /v1/files, put in the assistant's
// vector store (made on the first upload, "<name> knowledge"), listed with their ingestion
// status, polled while any is still in progress, and removed from the store. All through the
// public /v1 API with the page's session; the editor saves the store on the assistant as
// `tool_resources.file_search.vector_store_ids` with the `file_search` tool.

import { listAll } from "./api.js";
import { uploadFile } from "./attachments.js";
import { h, icon } from "./dom.js";

const POLL_MS = 700;
const POLL_LIMIT = 170; // about two minutes; then the list says to look again later

const STATUS = { in_progress: "Indexing…", completed: "Ready", failed: "Failed", cancelled: "Cancelled", uploading: "Uploading…" };
const CHIP = { in_progress: "running", uploading: "running", completed: "done", failed: "failed", cancelled: "stopped" };

/** The first store of `assistant`'s file_search resources, or null. */
export function storeOf(assistant) {
  const ids = assistant && assistant.tool_resources && assistant.tool_resources.file_search
    && assistant.tool_resources.file_search.vector_store_ids;
  return (ids && ids[0]) || null;
}

export class KnowledgeFiles {
  /** `onStore(storeId)` is awaited once a store was made for the assistant. */
  constructor({ api, onStore }) {
    this.api = api;
    this.onStore = onStore;
    this.names = new Map(); // file id → filename
    this.rows = new Map(); // file id (or a local key while uploading) → {li, status}
    this.input = h("input", { type: "file", multiple: true, hidden: true, "aria-label": "Knowledge files to add" });
    this.list = h("ul", { class: "knowledge-list", "aria-label": "Knowledge files" });
    this.note = h("p", { class: "field-hint knowledge-note", role: "status" });
    this.error = h("p", { class: "field-error", role: "alert", hidden: true });
    this.button = h("button", { type: "button", class: "btn knowledge-add", onclick: () => this.input.click() },
      icon("paperclip", { size: 15 }), "Add files");
    this.el = h("fieldset", { class: "field knowledge-field" }, h("legend", { text: "Knowledge files" }),
      h("p", { class: "field-hint", text: "Files the assistant searches for answers (file_search) and cites as footnotes." }),
      this.list, this.note, this.error, h("div", { class: "knowledge-actions" }, this.button, this.input));
    this.input.addEventListener("change", () => { this.add(Array.from(this.input.files)); this.input.value = ""; });
    this.generation = 0;
  }

  /** Show the files of `storeId` (null: none yet); `name()` gives the assistant's name for a new store. */
  async open(storeId, name) {
    this.generation += 1;
    this.storeId = storeId;
    this.name = name;
    this.chain = Promise.resolve();
    this.rows.clear();
    this.list.replaceChildren();
    this.error.hidden = true;
    this.note.textContent = storeId ? "Loading…" : "No files yet.";
    if (storeId) await this.refresh(this.generation);
  }

  /** Stop polling (the dialog closed). */
  close() {
    this.generation += 1;
  }

  async refresh(generation, polls = 0) {
    if (generation !== this.generation || !this.storeId) return;
    let files;
    try {
      files = await listAll(this.api, `/vector_stores/${this.storeId}/files`, { order: "asc" });
      await Promise.all(files.map((file) => this.nameOf(file.id)));
    } catch (problem) {
      if (generation === this.generation) this.fail(problem.message);
      return;
    }
    if (generation !== this.generation) return;
    const seen = new Set(files.map((file) => file.id));
    for (const [key, row] of Array.from(this.rows)) {
      if (!seen.has(key) && row.status !== "uploading") { row.li.remove(); this.rows.delete(key); }
    }
    for (const file of files) this.draw(file.id, file.status, file.last_error);
    const busy = files.some((file) => file.status === "in_progress");
    this.sayCount();
    if (busy && polls < POLL_LIMIT) setTimeout(() => this.refresh(generation, polls + 1), POLL_MS);
    else if (busy) this.note.textContent = "Still indexing; reopen the editor to see how it ended.";
  }

  async nameOf(fileId) {
    if (!this.names.has(fileId)) {
      const file = await this.api.get(`/files/${fileId}`).catch(() => null);
      this.names.set(fileId, (file && file.filename) || fileId);
    }
    return this.names.get(fileId);
  }

  sayCount() {
    const rows = Array.from(this.rows.values());
    const busy = rows.filter((row) => row.status === "in_progress" || row.status === "uploading").length;
    this.note.textContent = !rows.length ? "No files yet." : busy ? `${busy} of ${rows.length} still indexing…` : "";
  }

  /** One row: the file's name, its status (and why it failed), a remove button. */
  draw(key, status, lastError, name = this.names.get(key)) {
    let row = this.rows.get(key);
    if (!row) {
      row = { li: h("li", { class: "knowledge-file" }) };
      this.rows.set(key, row);
      this.list.append(row.li);
    }
    row.status = status;
    row.li.dataset.fileId = key;
    row.li.dataset.status = status;
    const why = status === "failed" && lastError ? lastError.message || lastError.code : null;
    row.li.replaceChildren(
      h("span", { class: "knowledge-name", text: name || key, title: name || key }),
      h("span", { class: `chip chip-${CHIP[status] || "stopped"}`, text: STATUS[status] || status }),
      why ? h("span", { class: "knowledge-error", text: why }) : "",
      status === "uploading" ? "" : h("button", {
        type: "button", class: "icon-btn small danger", "aria-label": `Remove ${name || key}`, title: "Remove from the assistant's knowledge",
        onclick: () => this.remove(key),
      }, icon("trash", { size: 14 })));
  }

  fail(message) {
    this.error.textContent = message;
    this.error.hidden = false;
  }

  /** Upload `files` and put each in the store (made on the first one); then follow their ingestion. */
  add(files) {
    this.error.hidden = true;
    const generation = this.generation;
    for (const file of files) {
      const key = `upload-${Math.random().toString(36).slice(2)}`;
      this.draw(key, "uploading", null, file.name);
      this.sayCount();
      const uploaded = uploadFile(file, { purpose: "assistants" });
      uploaded.catch(() => {}); // said when its turn in the chain comes
      // Attached one after another: the first may have to make the store the others go in.
      this.chain = this.chain.then(async () => {
        let stored;
        try {
          stored = await uploaded;
          this.names.set(stored.id, stored.filename || file.name);
          if (generation !== this.generation) return;
          await this.attach(stored.id);
        } catch (problem) {
          if (generation === this.generation) this.fail(`${file.name} was not added: ${problem.message}`);
        } finally {
          const row = this.rows.get(key);
          if (row) { row.li.remove(); this.rows.delete(key); }
        }
        if (generation === this.generation && stored) this.draw(stored.id, "in_progress", null);
        this.sayCount();
      });
    }
    this.chain = this.chain.then(() => this.refresh(generation));
  }

  async attach(fileId) {
    if (this.storeId) {
      await this.api.post(`/vector_stores/${this.storeId}/files`, { file_id: fileId });
      return;
    }
    const store = await this.api.post("/vector_stores", { file_ids: [fileId], name: `${this.name() || "Assistant"} knowledge` });
    this.storeId = store.id;
    await this.onStore(store.id);
  }

  async remove(fileId) {
    this.error.hidden = true;
    try {
      await this.api.del(`/vector_stores/${this.storeId}/files/${fileId}`);
    } catch (problem) {
      if (problem.status !== 404) { this.fail(problem.message); return; }
    }
    const row = this.rows.get(fileId);
    if (row) { row.li.remove(); this.rows.delete(fileId); }
    this.sayCount();
  }
}
