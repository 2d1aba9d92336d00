// The conversation's DOM: user messages, and one block per run (its tool calls, its reply,
// its outcome). Every part is keyed by its server id (message, step, run), so replaying a
// run's events over what is already shown updates it in place and never duplicates it.

import { copyButton, h, icon } from "./dom.js";
import { codeView, prettyJson, renderMarkdown } from "./markdown.js";

const ACTIVE = new Set(["queued", "in_progress", "requires_action", "cancelling"]);
export const isActive = (status) => ACTIVE.has(status);

export const textOf = (content) =>
  (content || []).filter((part) => part.type === "text").map((part) => (part.text && part.text.value) || "").join("");

class MessageView {
  constructor(id, role, onRender) {
    this.id = id;
    this.role = role;
    this.text = "";
    this.onRender = onRender;
    this.body = h("div", { class: "markdown" });
    this.el = h("div", { class: `msg ${role}`, dataset: { messageId: id || "" } }, this.body);
    this.setStatus("completed");
  }

  setId(id) {
    this.id = id;
    this.el.dataset.messageId = id;
  }

  setStatus(status) {
    const wasStreaming = this.status === "in_progress";
    this.status = status;
    if (wasStreaming && status !== "in_progress") this.schedule(); // the final render, fully highlighted
    this.el.dataset.status = status;
    this.el.classList.toggle("streaming", status === "in_progress");
    this.el.setAttribute("aria-busy", status === "in_progress" ? "true" : "false");
  }

  setText(text, status) {
    this.text = text || "";
    if (status) this.setStatus(status);
    this.schedule();
  }

  append(text) {
    this.text += text;
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

  render() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    renderMarkdown(this.body, this.text, { role: this.role, streaming: this.status === "in_progress" });
    this.el.markdownSource = this.text; // the source as stored, for tests and tools that inspect the page
    this.onRender();
  }
}

function normaliseCall(call) {
  const out = { id: call.id || null, type: call.type || (call.code_interpreter ? "code_interpreter" : "function") };
  if (out.type === "code_interpreter") {
    const ci = call.code_interpreter || {};
    out.code_interpreter = { input: ci.input || "", outputs: [...(ci.outputs || [])] };
  } else {
    const fn = call.function || {};
    out.function = { name: fn.name || "", arguments: fn.arguments || "", output: fn.output ?? null };
  }
  return out;
}

function outputLooksFailed(output) {
  try {
    const value = JSON.parse(output);
    return value && typeof value === "object" && !Array.isArray(value) && "error" in value && Object.keys(value).length === 1;
  } catch {
    return false;
  }
}

class ToolStepView {
  constructor(id, ctx) {
    this.id = id;
    this.ctx = ctx;
    this.calls = [];
    this.status = "in_progress";
    this.waiting = new Set();
    this.el = h("div", { class: "tool-step", dataset: { stepId: id } });
  }

  setCalls(calls, status) {
    this.calls = (calls || []).map(normaliseCall);
    if (status) this.status = status;
    this.schedule();
  }

  applyDelta(deltas) {
    for (const delta of deltas || []) {
      const index = delta.index ?? 0;
      if (!this.calls[index]) this.calls[index] = normaliseCall({ id: delta.id, type: delta.type });
      const call = this.calls[index];
      if (delta.id) call.id = delta.id;
      if (delta.function && call.function) {
        if (delta.function.name) call.function.name = delta.function.name;
        if (delta.function.arguments) call.function.arguments += delta.function.arguments;
        if (delta.function.output != null) call.function.output = delta.function.output;
      }
      if (delta.code_interpreter && call.code_interpreter) {
        if (delta.code_interpreter.input) call.code_interpreter.input += delta.code_interpreter.input;
        if (delta.code_interpreter.outputs) call.code_interpreter.outputs.push(...delta.code_interpreter.outputs);
      }
    }
    this.schedule();
  }

  setWaiting(ids) {
    this.waiting = new Set(ids);
    this.schedule();
  }

  schedule() {
    if (this.frame) return;
    this.frame = requestAnimationFrame(() => {
      this.frame = 0;
      this.render();
    });
  }

  render() {
    if (this.frame) cancelAnimationFrame(this.frame);
    this.frame = 0;
    this.el.replaceChildren(...this.calls.filter(Boolean).map((call) => this.card(call)));
    this.ctx.changed();
  }

  chip(call) {
    const output = call.type === "code_interpreter" ? (call.code_interpreter.outputs.length ? "x" : null) : call.function.output;
    if (call.id && this.waiting.has(call.id)) return ["waiting", "Needs your output"];
    if (output != null && call.type === "function" && outputLooksFailed(output)) return ["failed", "Error"];
    if (output != null || this.status === "completed") return ["done", "Done"];
    if (this.status === "in_progress") return ["running", "Running…"];
    return ["stopped", this.status === "cancelled" ? "Stopped" : this.status];
  }

  card(call) {
    const [state, label] = this.chip(call);
    const isCode = call.type === "code_interpreter";
    const name = isCode ? "code_interpreter" : call.function.name || "function";
    const kind = isCode ? "Code interpreter" : this.ctx.isRegistered(name) ? "Server function" : "Client-side function";
    const summary = h("summary", {},
      h("span", { class: "tool-icon" }, icon(isCode ? "code" : "tool", { size: 15 })),
      h("span", { class: "tool-name", text: isCode ? "Ran Python" : name }),
      h("span", { class: "tool-kind", text: kind }),
      h("span", { class: `chip chip-${state}`, text: label }),
      h("span", { class: "tool-caret" }, icon("chevron", { size: 15 })));
    const sections = [];
    if (isCode) {
      sections.push(this.section("Input", codeView(call.code_interpreter.input, "python")));
      const logs = call.code_interpreter.outputs.filter((o) => o.type === "logs").map((o) => o.logs).join("");
      if (call.code_interpreter.outputs.length) sections.push(this.section("Output", h("pre", { class: "tool-pre logs", text: logs || "(no output)" })));
    } else {
      sections.push(this.section("Arguments", codeView(prettyJson(call.function.arguments), "json")));
      if (call.function.output != null) sections.push(this.section("Output", codeView(prettyJson(call.function.output), "json")));
    }
    return h("details", { class: "tool-card", open: true, dataset: { tool: name, state, callId: call.id || "" } }, summary,
      h("div", { class: "tool-body" }, ...sections));
  }

  section(label, content) {
    return h("div", { class: "tool-section" }, h("div", { class: "tool-label", text: label }), content);
  }
}

const STATUS_TEXT = {
  cancelled: "Stopped",
  cancelling: "Stopping…",
  expired: "Expired",
  incomplete: "Incomplete",
  failed: "Failed",
};

export class RunView {
  constructor(id, ctx) {
    this.id = id;
    this.ctx = ctx;
    this.run = null;
    this.status = null;
    this.lastSeq = 0;
    this.messages = new Map();
    this.steps = new Map();
    this.name = h("span", { class: "run-name", text: "Assistant" });
    this.model = h("span", { class: "run-model" });
    this.head = h("div", { class: "run-head" }, h("span", { class: "avatar bot" }, icon("spark", { size: 16 })), this.name, this.model);
    this.body = h("div", { class: "run-body" });
    this.typing = h("div", { class: "typing", role: "status", "aria-label": "The assistant is working" }, h("i"), h("i"), h("i"));
    this.action = h("div", { class: "run-action" });
    this.notice = h("div", { class: "run-notice" });
    this.foot = h("div", { class: "run-foot" });
    this.el = h("article", { class: "run", dataset: { runId: id }, "aria-label": "Assistant reply" },
      this.head, this.body, this.typing, this.action, this.notice, this.foot);
    this.update();
  }

  get active() {
    return isActive(this.status);
  }

  setRun(run) {
    this.run = run;
    this.status = run.status;
    this.el.dataset.status = run.status;
    this.ctx.describeRun(this, run);
    if (run.status !== "requires_action") this.clearAction();
    for (const step of this.steps.values()) {
      if (!isActive(run.status) && step.status === "in_progress") step.status = run.status === "completed" ? "completed" : run.status;
      step.setWaiting(run.status === "requires_action" ? this.waitingIds() : []);
    }
    if (!isActive(run.status)) {
      for (const message of this.messages.values()) if (message.status === "in_progress") message.setStatus("incomplete");
    }
    this.update();
  }

  setLabel(name, badge) {
    this.name.textContent = name;
    this.model.replaceChildren(badge);
  }

  waitingIds() {
    const calls = this.run && this.run.required_action && this.run.required_action.submit_tool_outputs
      ? this.run.required_action.submit_tool_outputs.tool_calls : [];
    return calls.map((c) => c.id);
  }

  message(id) {
    let view = this.messages.get(id);
    if (!view) {
      view = new MessageView(id, "assistant", () => this.ctx.changed());
      this.messages.set(id, view);
      this.body.append(view.el);
    }
    return view;
  }

  step(id) {
    let view = this.steps.get(id);
    if (!view) {
      view = new ToolStepView(id, this.ctx);
      this.steps.set(id, view);
      this.body.append(view.el);
    }
    return view;
  }

  /** Before a replay from the first event: in-progress text will be streamed again. */
  resetForReplay() {
    this.lastSeq = 0;
    for (const message of this.messages.values()) if (message.status === "in_progress") message.setText("");
  }

  text() {
    return Array.from(this.messages.values()).map((m) => m.text).join("\n\n");
  }

  showRequiredAction(toolCalls, onSubmit) {
    const fields = toolCalls.map((call, index) => {
      const id = `tool-output-${this.id}-${index}`;
      return h("div", { class: "field" },
        h("label", { for: id }, "Output of ", h("code", { text: call.function.name }),
          h("span", { class: "field-hint", text: ` called with ${call.function.arguments || "{}"}` })),
        h("textarea", { id, name: call.id, rows: 3, required: true, class: "input mono", placeholder: 'The result, e.g. {"status": "shipped"}' }));
    });
    const error = h("p", { class: "form-error", role: "alert", hidden: true });
    const submit = h("button", { type: "submit", class: "btn primary" }, icon("send", { size: 15 }), "Submit output");
    const form = h("form", { class: "tool-output-form", "aria-label": "Submit tool output" },
      h("p", { class: "form-intro" }, icon("tool", { size: 16 }),
        h("span", { text: toolCalls.length > 1 ? "The assistant is waiting for the results of functions that run on your side." : "The assistant is waiting for the result of a function that runs on your side." })),
      ...fields, error, h("div", { class: "form-actions" }, submit));
    form.addEventListener("submit", async (event) => {
      event.preventDefault();
      const outputs = toolCalls.map((call) => ({ tool_call_id: call.id, output: form.elements[call.id].value }));
      submit.disabled = true;
      error.hidden = true;
      try {
        await onSubmit(this.id, outputs);
      } catch (problem) {
        submit.disabled = false;
        error.textContent = problem.message;
        error.hidden = false;
      }
    });
    this.action.replaceChildren(form);
    this.ctx.changed();
    return form;
  }

  clearAction() {
    this.action.replaceChildren();
  }

  update() {
    const status = this.status;
    const streaming = Array.from(this.messages.values()).some((m) => m.status === "in_progress");
    this.typing.hidden = !(status === "queued" || status === "in_progress" || status === "cancelling") || streaming;
    this.notice.replaceChildren();
    const error = this.run && this.run.last_error;
    if (status === "failed" || status === "expired" || (error && status === "incomplete")) {
      const message = (error && error.message) || (status === "expired" ? "The run expired before it finished." : "The run failed.");
      this.notice.append(h("div", { class: "run-error", role: "alert" }, icon("alert", { size: 16 }),
        h("div", {}, h("strong", { text: status === "expired" ? "The run expired" : "The run failed" }),
          h("p", { class: "run-error-text", text: message }),
          error && error.code ? h("span", { class: "run-error-code", text: error.code }) : null)));
    }
    this.ctx.renderFooter(this);
    this.ctx.changed();
  }

  renderFooter({ canRegenerate, onRegenerate }) {
    this.foot.replaceChildren();
    const status = this.status;
    if (!status || isActive(status)) {
      if (status === "cancelling") this.foot.append(h("span", { class: "run-state", text: STATUS_TEXT.cancelling }));
      return;
    }
    if (this.messages.size) this.foot.append(copyButton(() => this.text(), { label: "Copy reply", className: "ghost-btn", showText: false }));
    if (canRegenerate) {
      this.foot.append(h("button", { type: "button", class: "ghost-btn regenerate", "aria-label": "Regenerate reply", title: "Regenerate reply", onclick: onRegenerate },
        icon("refresh", { size: 15 })));
    }
    if (STATUS_TEXT[status]) {
      this.foot.append(h("span", { class: `run-state state-${status}`, text: status === "cancelled" && !this.messages.size ? "Stopped before replying" : STATUS_TEXT[status] }));
    }
  }
}

/** The list of messages and run blocks inside the scrolling transcript. */
export class Transcript {
  constructor(container, ctx) {
    this.container = container;
    this.ctx = ctx;
    this.runs = new Map();
    this.users = [];
  }

  clear() {
    this.container.replaceChildren();
    this.runs.clear();
    this.users = [];
  }

  get isEmpty() {
    return !this.container.firstChild;
  }

  addUser(message) {
    const view = new MessageView(message.id, "user", () => this.ctx.changed());
    view.el.append(h("div", { class: "msg-tools" }, copyButton(() => view.text, { label: "Copy message", className: "ghost-btn", showText: false })));
    view.setText(message.text);
    view.render();
    this.container.append(view.el);
    this.users.push(view);
    return view;
  }

  run(id) {
    return this.runs.get(id);
  }

  ensureRun(id, { after = null } = {}) {
    let view = this.runs.get(id);
    if (!view) {
      view = new RunView(id, this.ctx);
      this.runs.set(id, view);
      if (after && after.nextSibling) this.container.insertBefore(view.el, after.nextSibling);
      else this.container.append(view.el);
    }
    return view;
  }

  removeRun(id) {
    const view = this.runs.get(id);
    if (view) view.el.remove();
    this.runs.delete(id);
  }

  /** Regenerate replaces every reply after the last user message. */
  removeRepliesAfterLastUser() {
    const last = this.users[this.users.length - 1];
    for (const [id, view] of Array.from(this.runs)) {
      if (!last || last.el.compareDocumentPosition(view.el) & Node.DOCUMENT_POSITION_FOLLOWING) this.removeRun(id);
    }
  }

  lastRun() {
    const blocks = this.container.querySelectorAll(":scope > .run");
    const last = blocks[blocks.length - 1];
    return last ? this.runs.get(last.dataset.runId) : null;
  }

  activeRun() {
    return Array.from(this.runs.values()).find((view) => view.active) || null;
  }

  refreshFooters() {
    for (const view of this.runs.values()) view.update();
  }
}
