// Building DOM without HTML strings: text is always set as text, so nothing a model or a
// user writes can become markup here (only markdown.js produces HTML, and it sanitises).

export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [key, value] of Object.entries(props || {})) {
    if (value == null || value === false) continue;
    if (key === "class") el.className = value;
    else if (key === "text") el.textContent = value;
    else if (key === "dataset") Object.assign(el.dataset, value);
    else if (key.startsWith("on") && typeof value === "function") el.addEventListener(key.slice(2), value);
    else el.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat()) {
    if (child == null || child === false) continue;
    el.append(child instanceof Node ? child : String(child));
  }
  return el;
}

export const $ = (selector, root = document) => root.querySelector(selector);
export const $$ = (selector, root = document) => Array.from(root.querySelectorAll(selector));

const ICONS = {
  plus: "M12 5v14M5 12h14",
  paperclip: "M20 11.5l-8.1 8.1a5 5 0 0 1-7.1-7.1l8.5-8.5a3.3 3.3 0 0 1 4.7 4.7l-8.5 8.5a1.7 1.7 0 0 1-2.4-2.4L15 7",
  download: "M12 4v11M7 10l5 5 5-5M5 20h14",
  x: "M6 6l12 12M18 6 6 18",
  menu: "M4 7h16M4 12h16M4 17h16",
  send: "M12 19V5M6 11l6-6 6 6",
  stop: "M8 8h8v8H8z",
  copy: "M9 9h10v10H9zM5 15V5h10",
  check: "M5 12.5l4.5 4.5L19 7.5",
  pencil: "M4 20h4L19 9l-4-4L4 16v4zM13.5 6.5l4 4",
  compose: "M11 4H5v15h15v-6M9 15h3l8-8-3-3-8 8v3z",
  trash: "M4 7h16M10 11v6M14 11v6M6 7l1 13h10l1-13M9 7V4h6v3",
  refresh: "M20 12a8 8 0 1 1-2.34-5.66M20 4v5h-5",
  search: "M11 18a7 7 0 1 0 0-14 7 7 0 0 0 0 14zM20 20l-4-4",
  logout: "M14 4h5v16h-5M10 8l-4 4 4 4M6 12h10",
  tool: "M14.5 5.5a4 4 0 0 0 4.9 4.9L11 18.8a2.1 2.1 0 0 1-3-3l8.4-8.4M14.5 5.5 17 3l4 4-2.5 2.5",
  code: "M8 8l-4 4 4 4M16 8l4 4-4 4M13.5 5l-3 14",
  alert: "M12 8v5M12 16.5v.5M10.3 4.3 2.6 18a2 2 0 0 0 1.7 3h15.4a2 2 0 0 0 1.7-3L13.7 4.3a2 2 0 0 0-3.4 0z",
  spark: "M12 3l1.9 5.1L19 10l-5.1 1.9L12 17l-1.9-5.1L5 10l5.1-1.9zM19 16l.8 2.2L22 19l-2.2.8L19 22l-.8-2.2L16 19l2.2-.8z",
  flask: "M9 3h6M10 3v6l-5.5 9.5A1.7 1.7 0 0 0 6 21h12a1.7 1.7 0 0 0 1.5-2.5L14 9V3M7.5 15h9",
  server: "M4 5h16v6H4zM4 13h16v6H4zM8 8h.01M8 16h.01",
  cloud: "M7 18a4.5 4.5 0 0 1-.6-9 6 6 0 0 1 11.4 1.6A3.8 3.8 0 0 1 17.5 18z",
  chevron: "M6 9l6 6 6-6",
  down: "M12 5v14M6 13l6 6 6-6",
  panel: "M4 5h16v14H4zM9 5v14",
};

export function icon(name, { size = 18, label = null } = {}) {
  const ns = "http://www.w3.org/2000/svg";
  const svg = document.createElementNS(ns, "svg");
  svg.setAttribute("viewBox", "0 0 24 24");
  svg.setAttribute("width", size);
  svg.setAttribute("height", size);
  svg.setAttribute("class", `icon icon-${name}`);
  if (label) svg.setAttribute("aria-label", label);
  else svg.setAttribute("aria-hidden", "true");
  const path = document.createElementNS(ns, "path");
  path.setAttribute("d", ICONS[name] || "");
  svg.append(path);
  return svg;
}

/** Put an icon into every `[data-icon]` element of the static markup. */
export function hydrateIcons(root = document) {
  for (const el of $$("[data-icon]", root)) {
    if (!el.querySelector(":scope > svg.icon")) el.prepend(icon(el.dataset.icon, { size: Number(el.dataset.iconSize) || 18 }));
  }
}

export async function copyText(text) {
  // navigator.clipboard needs a secure context (https or localhost); a LAN address over
  // plain http is not one, so fall back to the old selection trick there.
  if (navigator.clipboard && window.isSecureContext) {
    try {
      await navigator.clipboard.writeText(text);
      return true;
    } catch { /* fall through */ }
  }
  const area = h("textarea", { class: "clipboard-helper", "aria-hidden": "true", readonly: true });
  area.value = text;
  document.body.append(area);
  area.select();
  let ok = false;
  try { ok = document.execCommand("copy"); } catch { ok = false; }
  area.remove();
  return ok;
}

/** A copy button that says "Copied" for a moment. */
export function copyButton(getText, { label = "Copy", className = "copy-btn", showText = true } = {}) {
  const text = h("span", { class: "btn-text", text: showText ? label : "" });
  const button = h("button", { type: "button", class: className, "aria-label": label, title: label }, icon("copy", { size: 15 }), text);
  button.addEventListener("click", async () => {
    const ok = await copyText(getText());
    button.classList.toggle("copied", ok);
    button.replaceChildren(icon(ok ? "check" : "copy", { size: 15 }), h("span", { class: "btn-text", text: showText ? (ok ? "Copied" : "Copy failed") : "" }));
    button.setAttribute("aria-label", ok ? "Copied" : "Copy failed");
    setTimeout(() => {
      button.classList.remove("copied");
      button.replaceChildren(icon("copy", { size: 15 }), text);
      button.setAttribute("aria-label", label);
    }, 1500);
  });
  return button;
}
