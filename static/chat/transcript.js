// The conversation's DOM, drawn from the state (state.js) and from nothing else: user
// messages, and one block per run (its tool calls, its reply, its outcome). `render(state)`
// reconciles the page with the state's items by key (message, run, step ids): a view whose
// item did not change (the same object) is left alone, so a streaming reply re-renders only
// its growing message, at most once per animation frame.

import { fileUrl, imageLink } from "./attachments.js";
import { footnoteList, hideMarkers, markCitations, placeMarks, searchContents, sourcesOf } from "./citations.js";
import { copyButton, h, icon } from "./dom.js";
import { isActive } from "./items.js";
import { renderMarkdown } from "./markdown.js";
import { canRegenerate, lastRun } from "./state.js";
import { ToolStepView, toolOutputForm } from "./toolcards.js";

class MessageView {
  constructor(id, role, onRender) {
    this.id = id;
    this.role = role;
    this.text = "";
    this.status = null;
    this.onRender = onRender;
    this.body = h("div", { class: "markdown" });
    this.el = h("div", { class: `msg ${role}`, dataset: { messageId: id || "" } }, this.body);
    this.setStatus("completed");
  }

  setId(id) {
    if (id === this.id) return;
    this.id = id;
    this.el.dataset.messageId = id || "";
  }

  setStatus(status) {
    if (status === this.status) return;
    const wasStreaming = this.status === "in_progress";
    this.status = status;
    if (wasStreaming) this.schedule(); // the final render, fully highlighted
    this.el.dataset.status = status;
    this.el.classList.toggle("streaming", status === "in_progress");
    this.el.setAttribute("aria-busy", status === "in_progress" ? "true" : "false");
  }

  /** Show `text` in `status` (a render is scheduled only when something changed). */
  update(text, status) {
    this.setStatus(status);
    if (text === this.text) return;
    this.text = text;
    this.schedule();
  }

  // One Markdown render per frame at most, however fast the tokens come.
  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  /** Images (image_file parts) above the text, and generated files' links made downloadable. */
  setMedia(media) {
    const key = JSON.stringify(media || null);
    if (key === (this.mediaKey || "null")) return;
    this.mediaKey = key;
    this.media = media || null;
    if (!this.gallery) {
      this.gallery = h("div", { class: "msg-images" });
      this.el.insertBefore(this.gallery, this.body);
    }
    this.gallery.replaceChildren(...((media && media.images) || []).map((image) => imageLink(image.fileId)));
    this.schedule();
  }

  /** The cited files' names and passages (citations.js `sourcesOf`), for the footnotes. */
  setSources(sources) {
    if (sources === this.sources) return;
    this.sources = sources;
    if (this.notes && this.notes.length) this.drawNotes();
  }

  drawNotes() {
    const list = this.notes.length ? footnoteList(`fn-${this.id}`, this.notes, this.sources || new Map()) : null;
    if (this.footnotes) this.footnotes.remove();
    this.footnotes = list;
    if (list) this.body.after(list);
  }

  render() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    let shown = this.text;
    const citations = (this.media && this.media.citations) || [];
    let notes = [];
    if (this.status === "in_progress" && this.role === "assistant") shown = hideMarkers(shown);
    else if (citations.length) ({ text: shown, notes } = markCitations(shown, citations));
    // `sandbox:/mnt/data/…` links of the reply point at the Files the code interpreter made.
    for (const link of (this.media && this.media.links) || []) shown = shown.split(link.text).join(fileUrl(link.fileId));
    renderMarkdown(this.body, shown, { role: this.role, streaming: this.status === "in_progress" });
    if (notes.length) placeMarks(this.body, `fn-${this.id}`);
    if (notes.join() !== (this.notes || []).join()) {
      this.notes = notes;
      this.drawNotes();
    }
    this.el.markdownSource = this.text; // the source as stored, for tests and tools that inspect the page
    this.onRender();
  }
}

/** An error's text with its `names` as code, not literal backticks (still text, never HTML). */
export function codeSpans(text) {
  return String(text).split(/`([^`\n]+)`/).map((part, index) => (index % 2 ? h("code", { text: part }) : part)).filter((part) => part !== "");
}

/** ‹ i/n › over the versions at one place; stepping asks the server (`ctx.selectVersion`). */
function versionStepper(versions, ctx, { what, enabled }) {
  if (!versions || versions.ids.length < 2) return null;
  const { ids, index } = versions;
  const step = (delta, label, glyph) => h("button", {
    type: "button", class: "ghost-btn version-step", "aria-label": `${label} ${what}`, title: `${label} ${what}`,
    disabled: !enabled || index + delta < 0 || index + delta >= ids.length,
    onclick: () => ctx.selectVersion(ids[index + delta]),
  }, glyph);
  return h("span", { class: "versions", role: "group", "aria-label": `${what} ${index + 1} of ${ids.length}` },
    step(-1, "Previous", "‹"), h("span", { class: "version-count", text: `${index + 1}/${ids.length}` }), step(1, "Next", "›"));
}

class UserView {
  constructor(item, ctx) {
    this.item = null;
    this.ctx = ctx;
    this.flags = "";
    this.message = new MessageView(item.id, "user", () => ctx.changed());
    this.el = this.message.el;
    this.tools = h("div", { class: "msg-tools" });
    this.el.append(this.tools);
  }

  drawTools(item, canChange) {
    const edit = canChange && item.id && !item.pending
      ? h("button", { type: "button", class: "ghost-btn edit-message", "aria-label": "Edit message", title: "Edit message", onclick: () => this.startEdit() },
        icon("pencil", { size: 15 }))
      : null;
    this.tools.replaceChildren(
      versionStepper(item.versions, this.ctx, { what: "version of this message", enabled: canChange }) || "",
      copyButton(() => this.message.text, { label: "Copy message", className: "ghost-btn", showText: false }),
      edit || "");
  }

  /** An editor in the message's place: Send resends the new text as a new version. */
  startEdit() {
    if (this.editor) return;
    const area = h("textarea", { class: "edit-text", "aria-label": "Edit your message", rows: "3" });
    area.value = this.item.text;
    const close = () => { this.editor.remove(); this.editor = null; this.message.body.hidden = false; this.tools.hidden = false; this.ctx.changed(); };
    const send = () => { const text = area.value; if (!text.trim()) return; close(); this.ctx.edit(this.item.id, text); };
    area.addEventListener("keydown", (event) => {
      if (event.key === "Escape") { event.preventDefault(); close(); }
      if (event.key === "Enter" && !event.shiftKey && !event.isComposing) { event.preventDefault(); send(); }
    });
    this.editor = h("div", { class: "edit-box" }, area, h("div", { class: "edit-actions" },
      h("button", { type: "button", class: "btn edit-cancel", text: "Cancel", onclick: close }),
      h("button", { type: "button", class: "btn primary edit-send", text: "Send", onclick: send })));
    this.message.body.hidden = true;
    this.tools.hidden = true;
    this.el.append(this.editor);
    area.focus();
    this.ctx.changed();
  }

  update(item, { canChange = false } = {}) {
    const flags = `${canChange}`;
    if (item === this.item && flags === this.flags) return;
    if (item !== this.item || flags !== this.flags) this.drawTools(item, canChange);
    this.flags = flags;
    if (item === this.item) return;
    const first = !this.item;
    this.item = item;
    this.message.setId(item.id);
    this.message.update(item.text, "completed");
    this.message.setMedia(item.images ? { images: item.images, links: [] } : null);
    this.el.classList.toggle("pending", item.pending);
    if (first) this.message.render(); // a user's message shows at once
  }
}

const STATUS_TEXT = {
  cancelled: "Stopped",
  cancelling: "Stopping…",
  expired: "Expired",
  incomplete: "Incomplete",
  failed: "Failed",
};

class RunView {
  constructor(item, ctx) {
    this.id = item.id;
    this.ctx = ctx;
    this.item = null;
    this.flags = "";
    this.parts = new Map(); // part key → MessageView | ToolStepView
    this.actionKey = "";
    this.name = h("span", { class: "run-name", text: "Assistant" });
    this.model = h("span", { class: "run-model" });
    this.head = h("div", { class: "run-head" }, h("span", { class: "avatar bot" }, icon("spark", { size: 16 })), this.name, this.model);
    this.body = h("div", { class: "run-body" });
    this.typing = h("div", { class: "typing", role: "status", "aria-label": "The assistant is working" }, h("i"), h("i"), h("i"));
    this.action = h("div", { class: "run-action" });
    this.notice = h("div", { class: "run-notice" });
    this.foot = h("div", { class: "run-foot" });
    this.el = h("article", { class: "run", dataset: { runId: item.id }, "aria-label": "Assistant reply" },
      this.head, this.body, this.typing, this.action, this.notice, this.foot);
  }

  /** Draw `item`; `regenerate` says whether this block offers Regenerate, `labels` the assistants' version. */
  update(item, { regenerate, labels, canChange = false }) {
    this.canChange = canChange;
    const flags = `${regenerate}:${labels}:${canChange}`;
    if (item === this.item && flags === this.flags) return;
    this.item = item;
    this.flags = flags;
    const status = item.status;
    if (status) this.el.dataset.status = status;
    // Tokens change only a message: the rest is redrawn when what it shows changed.
    this.once("label", `${item.assistantId}|${item.model}|${labels}`, () => {
      const label = this.ctx.describe(item);
      this.name.textContent = label.name;
      this.model.replaceChildren(...(label.badge ? [label.badge] : []));
    });
    this.drawParts(item);
    this.drawAction(item);
    const streaming = item.parts.some((part) => part.kind === "message" && part.status === "in_progress");
    this.typing.hidden = !(status === "queued" || status === "in_progress" || status === "cancelling") || streaming;
    const error = (item.run && item.run.last_error) || {};
    this.once("notice", `${status}|${error.code}|${error.message}`, () => this.drawNotice(item));
    const messages = item.parts.filter((part) => part.kind === "message").length;
    const versions = item.versions ? `${item.versions.index}/${item.versions.ids.length}` : "";
    this.once("footer", `${status}|${regenerate}|${messages}|${versions}|${canChange}`, () => this.drawFooter(item, regenerate));
    this.ctx.changed();
  }

  once(name, key, draw) {
    this.drawn = this.drawn || {};
    if (this.drawn[name] === key) return;
    this.drawn[name] = key;
    draw();
  }

  drawParts(item) {
    const waiting = item.action && !item.action.submitted ? item.action.calls.map((call) => call.id) : [];
    const keys = new Set(item.parts.map((part) => `${part.kind}:${part.id}`));
    for (const [key, view] of Array.from(this.parts)) {
      if (keys.has(key)) continue; // gone from a fresher snapshot
      view.el.remove();
      this.parts.delete(key);
    }
    let cursor = null;
    for (const part of item.parts) {
      const key = `${part.kind}:${part.id}`;
      let view = this.parts.get(key);
      if (!view) {
        view = part.kind === "message" ? new MessageView(part.id, "assistant", () => this.ctx.changed()) : new ToolStepView(part.id, this.ctx);
        this.parts.set(key, view);
      }
      const next = cursor ? cursor.nextSibling : this.body.firstChild;
      if (next !== view.el) this.body.insertBefore(view.el, next);
      cursor = view.el;
      if (part.kind === "message") {
        view.update(part.text, part.status);
        view.setMedia(part.media);
      } else view.update(part, waiting);
    }
    this.drawSources(item);
  }

  /** file_search results to the footnotes and the search cards; their passages once the run ended. */
  drawSources(item) {
    const searched = item.parts.some((part) => part.kind === "step" && part.calls.some((call) => call && call.type === "file_search"));
    const cited = item.parts.some((part) => part.media && part.media.citations && part.media.citations.length);
    if (!searched && !cited) return;
    const apply = () => {
      const steps = this.item.parts.filter((part) => part.kind === "step");
      const calls = steps.flatMap((part) => (this.contents && this.contents.get(part.id)) || part.calls).filter(Boolean);
      const key = JSON.stringify(calls.map((call) => call.file_search && call.file_search.results));
      if (key !== this.sourcesKey) {
        this.sourcesKey = key;
        this.sources = sourcesOf(calls);
      }
      for (const [name, view] of this.parts) {
        if (name.startsWith("message:")) view.setSources(this.sources);
        else view.setContents((this.contents && this.contents.get(view.id)) || null);
      }
    };
    apply();
    const threadId = item.run && item.run.thread_id;
    if (this.contentsAsked || !threadId || !item.status || isActive(item.status)) return;
    this.contentsAsked = true;
    searchContents(threadId, item.id).then((contents) => { this.contents = contents; apply(); }, () => { this.contentsAsked = false; });
  }

  drawAction(item) {
    const action = item.action;
    const key = action && !action.submitted ? `${action.ids}#${action.attempt}` : "";
    if (key === this.actionKey) return;
    this.actionKey = key;
    if (!key) this.action.replaceChildren();
    else this.action.replaceChildren(toolOutputForm(item.id, action.calls, (outputs) => this.ctx.submitOutputs(item.id, outputs)));
  }

  drawNotice(item) {
    const status = item.status;
    this.notice.replaceChildren();
    const error = item.run && item.run.last_error;
    if (status === "failed" || status === "expired" || (error && status === "incomplete")) {
      const message = (error && error.message) || (status === "expired" ? "The run expired before it finished." : "The run failed.");
      this.notice.append(h("div", { class: "run-error", role: "alert" }, icon("alert", { size: 16 }),
        h("div", {}, h("strong", { text: status === "expired" ? "The run expired" : "The run failed" }),
          h("p", { class: "run-error-text" }, ...codeSpans(message)),
          error && error.code ? h("span", { class: "run-error-code", text: error.code }) : null)));
    }
  }

  drawFooter(item, regenerate) {
    this.foot.replaceChildren();
    const status = item.status;
    if (!status || isActive(status)) {
      if (status === "cancelling") this.foot.append(h("span", { class: "run-state", text: STATUS_TEXT.cancelling }));
      return;
    }
    const messages = item.parts.filter((part) => part.kind === "message");
    const stepper = versionStepper(item.versions, this.ctx, { what: "version of this reply", enabled: this.canChange });
    if (stepper) this.foot.append(stepper);
    if (messages.length) this.foot.append(copyButton(() => this.replyText(), { label: "Copy reply", className: "ghost-btn", showText: false }));
    if (regenerate) {
      this.foot.append(h("button", { type: "button", class: "ghost-btn regenerate", "aria-label": "Regenerate reply", title: "Regenerate reply", onclick: () => this.ctx.regenerate() },
        icon("refresh", { size: 15 })));
    }
    if (STATUS_TEXT[status]) {
      this.foot.append(h("span", { class: `run-state state-${status}`, text: status === "cancelled" && !messages.length ? "Stopped before replying" : STATUS_TEXT[status] }));
    }
  }

  replyText() {
    return this.item.parts.filter((part) => part.kind === "message").map((part) => part.text).join("\n\n");
  }
}

/**
 * The list of messages and run blocks inside the scrolling transcript. `ctx` gives:
 * `changed()` (after anything moved), `describe(runItem)` → {name, badge}, `isRegistered(name)`
 * (a server function?), `regenerate()`, and `submitOutputs(runId, outputs)`.
 */
export class Transcript {
  constructor(container, ctx) {
    this.container = container;
    this.ctx = ctx;
    this.views = new Map(); // item key → UserView | RunView
    this.labels = 0; // bumped by relabel(): every run block redraws its name and badge
    this.state = null;
  }

  /** Make the page show `state.items`, in order, touching only what changed. */
  render(state) {
    this.state = state;
    const last = lastRun(state);
    const regenerate = canRegenerate(state);
    const seen = new Set();
    let cursor = null;
    for (const item of state.items) {
      seen.add(item.key);
      let view = this.views.get(item.key);
      if (!view || view.kind !== item.kind) {
        if (view) view.el.remove();
        view = item.kind === "user" ? new UserView(item, this.ctx) : new RunView(item, this.ctx);
        view.kind = item.kind;
        this.views.set(item.key, view);
      }
      // In place first, then drawn: following the stream measures the page with it.
      const next = cursor ? cursor.nextSibling : this.container.firstChild;
      if (next !== view.el) this.container.insertBefore(view.el, next);
      cursor = view.el;
      // Edits and version steps need a quiet thread: the same rule as Regenerate.
      if (item.kind === "user") view.update(item, { canChange: regenerate });
      else view.update(item, { regenerate: regenerate && item === last, labels: this.labels, canChange: regenerate });
    }
    let removed = false;
    for (const [key, view] of Array.from(this.views)) {
      if (seen.has(key)) continue;
      view.el.remove();
      this.views.delete(key);
      removed = true;
    }
    if (removed) this.ctx.changed();
  }

  /** The assistants' names or models changed: redraw every run block's label. */
  relabel() {
    this.labels += 1;
    if (this.state) this.render(this.state);
  }
}
