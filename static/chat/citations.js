// Citations in replies as footnotes. A reply's `file_citation` annotations (items.js `mediaOf`)
// become superscript numbers, one per cited file, and a list under the reply names each file
// and shows the passage: from the run's file_search results, whose chunk text the page reads
// once the run ended (GET …/runs/{id}/steps?include[]=…content; the live stream carries the
// results without it). A file the results do not name is looked up at /v1/files/{id}.

import { createApi, listAll } from "./api.js";
import { h, icon } from "./dom.js";

const api = createApi("/v1");
const CONTENT = "step_details.tool_calls[*].file_search.results[*].content";
const MARKER = /^(?:【[^】]*】|\[\d+\])$/; // what the model wrote (retrieval/tool.py MARKER)
const STREAMED_MARKER = /\s?【[^】]*】/g;
const OPEN = "\uE000"; // private-use characters: pass Markdown and the sanitiser untouched
const CLOSE = "\uE001";
const PASSAGE_CHARS = 400;

export const clip = (text, max) => (text.length > max ? `${text.slice(0, max).trimEnd()}…` : text);

/** While a reply streams its markers are not annotations yet: hidden until it completes. */
export const hideMarkers = (text) => text.replace(STREAMED_MARKER, "");

/**
 * `text` with a token where each citation goes (in place of a marker the model wrote, or after
 * the sentence the server attributed), and `notes`: the cited files' ids, numbered in order.
 */
export function markCitations(text, citations) {
  const chars = Array.from(text); // the server's indexes count code points, not UTF-16 units
  const notes = [];
  const marks = [];
  for (const cite of [...citations].sort((a, b) => a.start - b.start)) {
    if (!(cite.start >= 0 && cite.end >= cite.start && cite.end <= chars.length)) continue;
    if (!notes.includes(cite.fileId)) notes.push(cite.fileId);
    marks.push({ ...cite, n: notes.indexOf(cite.fileId) + 1 });
  }
  for (const mark of marks.reverse()) { // from the end, so the earlier indexes still hold
    const token = `${OPEN}${mark.n}${CLOSE}`;
    if (MARKER.test(mark.text || "") && chars.slice(mark.start, mark.end).join("") === mark.text) {
      const start = chars[mark.start - 1] === " " ? mark.start - 1 : mark.start;
      chars.splice(start, mark.end - start, token);
    } else {
      chars.splice(mark.end, 0, token);
    }
  }
  return { text: chars.join(""), notes };
}

/** Replace the tokens of `markCitations` in the rendered `root` with superscript links to the notes. */
export function placeMarks(root, noteId) {
  const walker = document.createTreeWalker(root, NodeFilter.SHOW_TEXT);
  const nodes = [];
  while (walker.nextNode()) if (walker.currentNode.nodeValue.includes(OPEN)) nodes.push(walker.currentNode);
  for (const node of nodes) {
    const pieces = node.nodeValue.split(/\uE000(\d+)\uE001/); // odd pieces are the numbers
    node.replaceWith(...pieces.map((piece, i) => (i % 2 ? citeMark(noteId, piece) : piece)).filter((piece) => piece !== ""));
  }
}

function citeMark(noteId, n) {
  // Not a plain fragment link: the page's URL is the thread's, and the router watches it.
  return h("sup", { class: "cite" }, h("a", {
    href: `#${noteId}-${n}`, class: "cite-mark", "aria-label": `Source ${n}`, dataset: { note: n },
    onclick: (event) => {
      event.preventDefault();
      const note = document.getElementById(`${noteId}-${n}`);
      if (note) { note.scrollIntoView({ block: "nearest" }); note.focus(); }
    },
  }, n));
}

/** The list under a reply: each cited file's name and the passage the search found in it. */
export function footnoteList(noteId, notes, sources) {
  return h("ol", { class: "footnotes", "aria-label": "Sources" }, notes.map((fileId, index) => {
    const source = sources.get(fileId) || {};
    const name = h("span", { class: "footnote-file", text: source.fileName || "…" });
    if (!source.fileName) fileName(fileId).then((found) => { name.textContent = found; });
    return h("li", { id: `${noteId}-${index + 1}`, class: "footnote", tabindex: "-1", dataset: { fileId } },
      h("span", { class: "footnote-head" }, icon("paperclip", { size: 13 }), name),
      source.passage ? h("blockquote", { class: "footnote-passage", text: clip(source.passage, PASSAGE_CHARS) }) : null);
  }));
}

/** A result's chunk text, when the page has it. */
export const passageOf = (result) => ((result && result.content) || []).map((part) => part.text || "").join("");

/** file id → {fileName, passage, score}: each file's best result among file_search `calls`. */
export function sourcesOf(calls) {
  const sources = new Map();
  for (const call of calls) {
    for (const result of (call.file_search && call.file_search.results) || []) {
      const known = sources.get(result.file_id);
      const passage = passageOf(result);
      if (known && (known.passage || !passage) && known.score >= result.score) continue;
      sources.set(result.file_id, { fileName: result.file_name || (known && known.fileName), passage: passage || (known && known.passage) || "", score: result.score });
    }
  }
  return sources;
}

const contents = new Map(); // run id → Promise<Map step id → tool calls with the results' content>

/** The file_search calls of an ended run, with their results' chunk text (read once per run). */
export function searchContents(threadId, runId) {
  if (!contents.has(runId)) {
    const loading = listAll(api, `/threads/${threadId}/runs/${runId}/steps`, { order: "asc", "include[]": CONTENT })
      .then((steps) => new Map(steps.filter((step) => step.type === "tool_calls").map((step) => [step.id, step.step_details.tool_calls || []])));
    loading.catch(() => contents.delete(runId)); // asked again next time
    contents.set(runId, loading);
  }
  return contents.get(runId);
}

const names = new Map(); // file id → Promise<filename>

export function fileName(fileId) {
  if (!names.has(fileId)) names.set(fileId, api.get(`/files/${fileId}`).then((file) => file.filename || fileId, () => "a deleted file"));
  return names.get(fileId);
}
