// Markdown → sanitised DOM. Model and user text are untrusted alike:
//  1. marked parses Markdown, but raw HTML in the text is rendered as literal text (a
//     chat shows what was typed; nobody expects `<b>` from a model to turn bold);
//  2. DOMPurify then sanitises whatever marked produced (second line of defence: no
//     script, handlers, styles, forms, frames or images survive);
//  3. the page's Content-Security-Policy forbids inline script on top of that.
// Code blocks are highlighted by highlight.js (which escapes the code it colours) and get a
// copy button built with DOM calls, after sanitising.
// Math ($…$, $$…$$, \(…\), \[…\]; never inside code) is cut out by a marked extension as
// plain text in a marked span, and after sanitising KaTeX builds MathML from that text with
// DOM calls (output "mathml": no inline styles, so the strict style-src holds; Chromium and
// Firefox draw MathML natively, screen readers read it). KaTeX loads on the first formula.

import { Marked } from "../vendor/marked/marked.esm.js";
import DOMPurify from "../vendor/dompurify/purify.es.mjs";
import hljs from "../vendor/highlightjs/highlight.min.js";
import { copyButton, h } from "./dom.js";

const ESCAPES = { "&": "&amp;", "<": "&lt;", ">": "&gt;", '"': "&quot;", "'": "&#39;" };
const escapeHtml = (text) => String(text).replace(/[&<>"']/g, (c) => ESCAPES[c]);

// `$x$` is math only when the first and last characters inside are not spaces, no digit
// follows and no backtick is inside (so "$5 and $10" stays money and `$` in code stays
// code); `\$` is a literal dollar.
const INLINE_MATH = [
  { display: true, re: /^\$\$(?!\$)([\s\S]+?)\$\$/ },
  { display: true, re: /^\\\[([\s\S]+?)\\\]/ },
  { display: false, re: /^\\\(([\s\S]+?)\\\)/ },
  { display: false, re: /^\$(?!\s)((?:\\.|[^\\\n$`])+?)(?<!\s)\$(?!\d)/ },
];
const BLOCK_MATH = /^ {0,3}(?:\$\$([\s\S]+?)\$\$|\\\[([\s\S]+?)\\\])[ \t]*(?:\n|$)/;

// A block of its own is a div; display math inside a paragraph is a span shown as a block.
const mathSpan = (tex, display, tag = "span") =>
  `<${tag} class="math-tex${display ? " math-display" : ""}">${escapeHtml(tex.trim())}</${tag}>`;

const MATH = {
  extensions: [
    {
      name: "mathBlock",
      level: "block",
      start: (src) => src.match(/^ {0,3}(?:\$\$|\\\[)/m)?.index,
      tokenizer(src) {
        const match = BLOCK_MATH.exec(src);
        if (match) return { type: "mathBlock", raw: match[0], tex: match[1] ?? match[2], display: true };
      },
      renderer: ({ tex }) => mathSpan(tex, true, "div"),
    },
    {
      name: "mathInline",
      level: "inline",
      start: (src) => src.match(/\$|\\[([]/)?.index,
      tokenizer(src) {
        for (const { display, re } of INLINE_MATH) {
          const match = re.exec(src);
          if (match && match[1].trim()) return { type: "mathInline", raw: match[0], tex: match[1], display };
        }
      },
      renderer: ({ tex, display }) => mathSpan(tex, display),
    },
  ],
};

function parser(breaks) {
  return new Marked(MATH, {
    gfm: true,
    breaks,
    renderer: {
      html: ({ text }) => escapeHtml(text),
      // Remote images in a reply can leak the conversation through their URL (a known
      // prompt-injection trick), so an image becomes a plain link the user may follow.
      image: ({ href, text }) => `<a href="${escapeHtml(href || "")}">🖼 ${escapeHtml(text || href || "image")}</a>`,
      // Task lists: forms are not allowed through the sanitiser, so a box is a marked span.
      checkbox: ({ checked }) => `<span class="task-box" role="img" aria-label="${checked ? "done" : "not done"}">${checked ? "☑" : "☐"}</span> `,
    },
  });
}

const PARSERS = { assistant: parser(false), user: parser(true) };

const PURIFY = {
  USE_PROFILES: { html: true },
  FORBID_TAGS: ["style", "img", "svg", "math", "form", "input", "button", "textarea", "select", "option",
    "iframe", "object", "embed", "video", "audio", "source", "picture", "link", "meta", "base"],
  FORBID_ATTR: ["style", "srcset", "id", "name"],
  ALLOW_DATA_ATTR: false,
  RETURN_DOM_FRAGMENT: true,
};

DOMPurify.addHook("afterSanitizeAttributes", (node) => {
  if (node.tagName === "A") {
    node.setAttribute("target", "_blank");
    node.setAttribute("rel", "noopener noreferrer nofollow");
  }
});

hljs.configure({ ignoreUnescapedHTML: true });

/** Replace ``el``'s children with ``text`` rendered as sanitised Markdown. While ``streaming``
 * (re-rendered every frame) a block without a declared language is not auto-detected: that
 * tries every language, too slow to repeat per token; the final render does it. */
export function renderMarkdown(el, text, { role = "assistant", streaming = false } = {}) {
  const html = (PARSERS[role] || PARSERS.assistant).parse(text || "");
  const fragment = DOMPurify.sanitize(html, PURIFY);
  enhanceCodeBlocks(fragment, streaming);
  const formulas = Array.from(fragment.querySelectorAll(".math-tex"));
  el.replaceChildren(fragment);
  if (formulas.length) renderMath(formulas);
}

let katex = null;
let katexLoading = null;

/** Turn each ``.math-tex`` element's text into MathML; KaTeX is imported the first time. */
function renderMath(elements) {
  if (!katex) {
    katexLoading ||= import("../vendor/katex/katex.mjs").then((module) => { katex = module.default; });
    katexLoading.then(() => renderMath(elements.filter((el) => el.isConnected)), () => {}); // unloaded: the TeX stays
    return;
  }
  for (const el of elements) {
    if (el.querySelector("math")) continue;
    const tex = el.textContent;
    try {
      // trust: false (the default) keeps \href, \includegraphics and \html* out; the
      // limits bound what a hostile formula can cost.
      katex.render(tex, el, { output: "mathml", displayMode: el.classList.contains("math-display"),
        throwOnError: true, trust: false, maxSize: 50, maxExpand: 500 });
      el.classList.add("math-ok");
    } catch (error) {
      el.textContent = tex; // shown as written, marked, with KaTeX's reason on hover
      el.classList.add("math-error");
      el.title = String(error?.message || error);
    }
  }
}

function enhanceCodeBlocks(root, streaming) {
  for (const pre of Array.from(root.querySelectorAll("pre"))) {
    const code = pre.querySelector("code");
    if (!code) continue;
    const source = code.textContent;
    const declared = /(?:^|\s)language-([\w+#.-]+)/.exec(code.className || "");
    let language = declared && hljs.getLanguage(declared[1]) ? declared[1] : null;
    try {
      if (language || !streaming) {
        const result = language ? hljs.highlight(source, { language, ignoreIllegals: true }) : hljs.highlightAuto(source);
        language = language || result.language || "";
        code.innerHTML = result.value; // highlight.js output: the code escaped, wrapped in spans
      }
    } catch {
      code.textContent = source;
    }
    code.className = `hljs${language ? ` language-${language}` : ""}`;
    const head = h("div", { class: "code-head" },
      h("span", { class: "code-lang", text: declared ? declared[1] : language || "code" }),
      copyButton(() => source, { label: "Copy code", className: "copy-code" }));
    // Wide code scrolls sideways: focusable, so the keyboard can scroll it too.
    pre.setAttribute("tabindex", "0");
    pre.setAttribute("aria-label", `Code${language ? ` (${language})` : ""}`);
    const block = h("div", { class: "code-block" }, head);
    pre.replaceWith(block);
    block.append(pre);
  }
}

/** Pretty JSON when ``text`` is JSON, else the text itself. */
export function prettyJson(text) {
  if (typeof text !== "string" || !text.trim()) return text ?? "";
  try {
    return JSON.stringify(JSON.parse(text), null, 2);
  } catch {
    return text;
  }
}

/** A highlighted, read-only code view for tool arguments, outputs and interpreter input. */
export function codeView(text, language) {
  const code = h("code", { class: "hljs" });
  try {
    code.innerHTML = hljs.highlight(text || "", { language, ignoreIllegals: true }).value;
  } catch {
    code.textContent = text || "";
  }
  return h("pre", { class: "tool-pre" }, code);
}
