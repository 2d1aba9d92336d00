// The page's furniture, apart from the conversation: toasts, the confirm dialog, the
// transcript's scrolling, the sidebar's layout (a column, or a drawer at phone width).

import { $, h, icon } from "./dom.js";

export function notify(container, message, kind = "error") {
  const toast = h("div", { class: `toast toast-${kind}`, role: kind === "error" ? "alert" : "status" },
    icon(kind === "error" ? "alert" : "check", { size: 16 }), h("span", { text: message }));
  container.append(toast);
  setTimeout(() => toast.remove(), 6000);
}

/** Resolves true when the user confirms `message` with the `actionLabel` button. */
export function confirmDialog(message, actionLabel) {
  const dialog = $("#confirm-dialog");
  $("#confirm-message").textContent = message;
  $("#confirm-ok").textContent = actionLabel;
  dialog.returnValue = "";
  dialog.showModal();
  return new Promise((resolve) => dialog.addEventListener("close", () => resolve(dialog.returnValue === "ok"), { once: true }));
}

/** Keeps the transcript at the bottom while a reply streams, unless the reader scrolled up. */
export class Scroller {
  constructor(el, jump) {
    this.el = el;
    this.jump = jump;
    this.stick = true;
    el.addEventListener("scroll", () => {
      this.stick = this.nearBottom();
      jump.hidden = this.stick;
    }, { passive: true });
    // A wheel turn upwards means "let me read": stop following before the next token lands.
    el.addEventListener("wheel", (event) => { if (event.deltaY < 0) this.stick = false; }, { passive: true });
    jump.addEventListener("click", () => this.toBottom());
  }

  nearBottom() {
    return this.el.scrollHeight - this.el.scrollTop - this.el.clientHeight < 64;
  }

  follow() {
    if (this.stick) this.el.scrollTop = this.el.scrollHeight;
    else this.jump.hidden = this.nearBottom();
  }

  toBottom() {
    this.stick = true;
    this.el.scrollTop = this.el.scrollHeight;
    this.jump.hidden = true;
  }
}

/** The sidebar: a column that collapses on wide screens, a drawer behind a button on narrow ones. */
export class Layout {
  constructor({ app, backdrop, toggle, search }) {
    Object.assign(this, { app, backdrop, toggle, search });
    this.narrow = window.matchMedia("(max-width: 800px)");
    this.narrow.addEventListener("change", () => {
      app.classList.remove("drawer-open");
      backdrop.hidden = true;
      this.setSidebar(!this.narrow.matches && !app.classList.contains("sidebar-collapsed"));
    });
  }

  get isNarrow() {
    return this.narrow.matches;
  }

  get drawerOpen() {
    return this.narrow.matches && this.app.classList.contains("drawer-open");
  }

  sidebarShown() {
    return this.narrow.matches ? this.app.classList.contains("drawer-open") : !this.app.classList.contains("sidebar-collapsed");
  }

  setSidebar(show) {
    if (this.narrow.matches) {
      this.app.classList.toggle("drawer-open", show);
      this.backdrop.hidden = !show;
      if (show) this.search.focus();
    } else {
      this.app.classList.toggle("sidebar-collapsed", !show);
    }
    this.toggle.replaceChildren(icon(this.narrow.matches ? "menu" : "panel"));
    this.toggle.setAttribute("aria-expanded", String(this.sidebarShown()));
    this.toggle.setAttribute("aria-label", this.sidebarShown() ? "Hide sidebar" : "Show sidebar");
  }

  closeDrawer() {
    if (this.drawerOpen) this.setSidebar(false);
  }
}

const STORED_THEME = "entities.theme";

/** The theme toggle: "system" follows prefers-color-scheme; "light"/"dark" force one (the
 * page's colours and highlight.js's stylesheet alike). Remembered in localStorage. */
export function applyTheme(choice, select = null) {
  const theme = ["light", "dark"].includes(choice) ? choice : "system";
  localStorage.setItem(STORED_THEME, theme);
  if (theme === "system") delete document.documentElement.dataset.theme;
  else document.documentElement.dataset.theme = theme;
  const light = document.getElementById("hljs-light");
  const dark = document.getElementById("hljs-dark");
  if (light) light.media = theme === "system" ? "(prefers-color-scheme: light)" : theme === "light" ? "all" : "not all";
  if (dark) dark.media = theme === "system" ? "(prefers-color-scheme: dark)" : theme === "dark" ? "all" : "not all";
  if (select) select.value = theme;
}

export const storedTheme = () => localStorage.getItem(STORED_THEME) || "system";
