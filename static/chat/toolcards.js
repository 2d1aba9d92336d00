// Tool calls as cards, and the form that asks for client-side functions' outputs. Drawn from
// a step part of the state (items.js); the transcript decides when (transcript.js).

import { imageLink } from "./attachments.js";
import { clip, passageOf } from "./citations.js";
import { h, icon } from "./dom.js";
import { codeView, prettyJson } from "./markdown.js";

function outputLooksFailed(output) {
  try {
    const value = JSON.parse(output);
    return value && typeof value === "object" && !Array.isArray(value) && "error" in value && Object.keys(value).length === 1;
  } catch {
    return false;
  }
}

/** One tool-call step: a card per call. */
export class ToolStepView {
  constructor(id, ctx) {
    this.id = id;
    this.ctx = ctx;
    this.part = null;
    this.waiting = "";
    this.contents = null; // the file_search calls with their results' chunk text, once read
    this.el = h("div", { class: "tool-step", dataset: { stepId: id } });
  }

  /** Draw `part` ({calls, status}); `waiting` lists the call ids that need an output. */
  update(part, waiting) {
    const key = waiting.join(",");
    if (part === this.part && key === this.waiting) return;
    this.part = part;
    this.waiting = key;
    this.schedule();
  }

  /** The step's calls as read with include[]=…content (the snippets of a search card). */
  setContents(calls) {
    if (calls === this.contents) return;
    this.contents = calls;
    if (this.part) this.schedule();
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
    const waiting = new Set(this.waiting ? this.waiting.split(",") : []);
    this.el.replaceChildren(...this.part.calls.filter(Boolean).map((call) => this.card(call, waiting)));
    this.ctx.changed();
  }

  chip(call, waiting) {
    const status = this.part.status;
    const output = call.type === "code_interpreter" ? (call.code_interpreter.outputs.length ? "x" : null)
      : call.type === "file_search" ? call.file_search.results : call.function.output;
    if (call.id && waiting.has(call.id)) return ["waiting", "Needs your output"];
    if (output != null && call.type === "function" && outputLooksFailed(output)) return ["failed", "Error"];
    if (output != null || status === "completed") return ["done", "Done"];
    if (status === "in_progress") return ["running", "Running…"];
    return ["stopped", status === "cancelled" ? "Stopped" : status];
  }

  card(call, waiting) {
    if (call.type === "file_search") return this.searchCard(call, waiting);
    const [state, label] = this.chip(call, waiting);
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
      sections.push(section("Input", codeView(call.code_interpreter.input, "python")));
      const logs = call.code_interpreter.outputs.filter((o) => o.type === "logs").map((o) => o.logs).join("");
      if (call.code_interpreter.outputs.length) sections.push(section("Output", h("pre", { class: "tool-pre logs", text: logs || "(no output)" })));
      const images = call.code_interpreter.outputs.filter((o) => o.type === "image" && o.image);
      if (images.length) sections.push(section("Images", h("div", { class: "tool-images" }, images.map((o) => imageLink(o.image.file_id, "Chart")))));
    } else {
      sections.push(section("Arguments", codeView(prettyJson(call.function.arguments), "json")));
      if (call.function.output != null) sections.push(section("Output", codeView(prettyJson(call.function.output), "json")));
    }
    return h("details", { class: "tool-card", open: true, dataset: { tool: name, state, callId: call.id || "" } }, summary,
      h("div", { class: "tool-body" }, ...sections));
  }

  /** A file_search call: the query (when the step carries it) and each result's file, score and passage. */
  searchCard(call, waiting) {
    const [state, label] = this.chip(call, waiting);
    const search = call.file_search;
    const read = ((this.contents || []).find((other) => other.id === call.id) || {}).file_search;
    const passages = new Map(((read && read.results) || []).map((result, index) => [index, passageOf(result)]));
    const summary = h("summary", {},
      h("span", { class: "tool-icon" }, icon("search", { size: 15 })),
      h("span", { class: "tool-name", text: "Searched the knowledge files" }),
      h("span", { class: "tool-kind", text: "File search" }),
      h("span", { class: `chip chip-${state}`, text: label }),
      h("span", { class: "tool-caret" }, icon("chevron", { size: 15 })));
    const sections = [];
    if (search.query) sections.push(section("Query", h("p", { class: "search-query", text: search.query })));
    if (search.results) {
      const rows = search.results.map((result, index) => {
        const passage = passageOf(result) || passages.get(index) || "";
        return h("li", { class: "search-result", dataset: { fileId: result.file_id || "" } },
          h("span", { class: "search-file", text: result.file_name || result.file_id }),
          h("span", { class: "search-score", title: "Relevance (0 to 1)", text: Number(result.score || 0).toFixed(2) }),
          passage ? h("p", { class: "search-snippet", text: clip(passage, 280) }) : null);
      });
      sections.push(section(`Results (${rows.length})`, rows.length ? h("ol", { class: "search-results" }, rows)
        : h("p", { class: "search-empty", text: "No passage in the files matched." })));
    }
    return h("details", { class: "tool-card search-card", open: true, dataset: { tool: "file_search", state, callId: call.id || "" } }, summary,
      h("div", { class: "tool-body" }, ...sections));
  }
}

function section(label, content) {
  return h("div", { class: "tool-section" }, h("div", { class: "tool-label", text: label }), content);
}

/** The form for the outputs of `toolCalls`; `onSubmit(outputs)` may throw to show an error. */
export function toolOutputForm(runId, toolCalls, onSubmit) {
  const fields = toolCalls.map((call, index) => {
    const id = `tool-output-${runId}-${index}`;
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
      await onSubmit(outputs);
    } catch (problem) {
      submit.disabled = false;
      error.textContent = problem.message;
      error.hidden = false;
    }
  });
  return form;
}
