// The list of the user's threads: the most recently active first, grouped by day, searchable, renamable.

import { h, icon } from "./dom.js";

const TITLE_LIMIT = 60;

/** The title the UI shows: the server's `title` (an Entities extension, set from the first
 * message or by renaming), else a `title` key in metadata (threads made through the SDK). */
export function threadTitle(thread) {
  return plainTitle(thread.title || (thread.metadata && thread.metadata.title) || "") || "New chat";
}

/** A title without its Markdown (a first message's `#`, `**`, backticks, links, list marks). */
export function plainTitle(text) {
  return String(text)
    .replace(/!?\[([^\]]*)\]\([^)]*\)/g, "$1") // [text](url), ![alt](src)
    .replace(/```[a-z0-9_-]*/gi, " ")
    .replace(/(^|\s)(#{1,6}|>+|[-*+]|\d+\.)\s+/g, "$1") // headings, quotes, list marks
    .replace(/(\*\*|\*|~~|`)(?=\S)([^]*?\S)\1/g, "$2") // emphasis, code (not `_`: snake_case stays)
    .replace(/[`*]/g, "")
    .split(/\s+/).join(" ").trim();
}

/** When the thread last moved (a message, a run ending): what the list is ordered by. */
const activity = (thread) => thread.updated_at || thread.created_at || 0;

export function titleFromText(text) {
  const line = plainTitle(text);
  return line.length <= TITLE_LIMIT ? line : `${line.slice(0, TITLE_LIMIT - 1).trimEnd()}…`;
}

function dayGroup(createdAt) {
  const then = new Date(createdAt * 1000);
  const today = new Date();
  today.setHours(0, 0, 0, 0);
  const days = Math.floor((today - new Date(then.getFullYear(), then.getMonth(), then.getDate())) / 86400000);
  if (days <= 0) return "Today";
  if (days === 1) return "Yesterday";
  if (days < 7) return "Previous 7 days";
  if (days < 30) return "Previous 30 days";
  return then.toLocaleDateString(undefined, { year: "numeric", month: "long" });
}

export class Sidebar {
  constructor({ list, search, api, onOpen, onDeleted, confirm, notify }) {
    this.list = list;
    this.search = search;
    this.api = api;
    this.onOpen = onOpen;
    this.onDeleted = onDeleted;
    this.confirm = confirm;
    this.notify = notify;
    this.threads = [];
    this.activeId = null;
    this.query = "";
    let timer = 0;
    search.addEventListener("input", () => {
      clearTimeout(timer);
      timer = setTimeout(() => this.refresh(), 200);
    });
    search.addEventListener("keydown", (event) => {
      if (event.key === "Escape" && search.value) {
        event.stopPropagation();
        search.value = "";
        this.refresh();
      }
    });
  }

  async refresh() {
    const query = this.search.value.trim();
    this.query = query;
    try {
      const page = await this.api.get("/threads", { limit: 100, search: query || null });
      if (query !== this.query) return; // a newer search is on its way
      this.threads = page.data;
      this.sort();
      this.render();
    } catch (problem) {
      this.list.replaceChildren(h("p", { class: "sidebar-empty", role: "alert", text: problem.message }));
    }
  }

  upsert(thread) {
    this.threads = [thread, ...this.threads.filter((t) => t.id !== thread.id)];
    this.sort();
    this.render();
  }

  sort() {
    this.threads.sort((a, b) => activity(b) - activity(a));
  }

  /** `id` moved just now (the user sent, a reply ended): it goes to the top. */
  touch(id) {
    const thread = this.get(id);
    if (!thread) return;
    this.upsert({ ...thread, updated_at: Math.floor(Date.now() / 1000) });
  }

  /** After ``id``'s first reply the server may give it a model-written title a moment later
   * (docs/ui.md): look a few times, stopping at the first change. */
  followTitle(id, delays = [1500, 4000, 8000]) {
    if (!this.get(id) || !delays.length) return;
    setTimeout(async () => {
      let thread;
      try {
        thread = await this.api.get(`/threads/${id}`);
      } catch {
        return;
      }
      const known = this.get(id);
      if (!known) return;
      if (thread.title !== known.title) {
        Object.assign(known, { title: thread.title });
        this.render();
      } else {
        this.followTitle(id, delays.slice(1));
      }
    }, delays[0]);
  }

  remove(id) {
    this.threads = this.threads.filter((t) => t.id !== id);
    this.render();
  }

  get(id) {
    return this.threads.find((t) => t.id === id) || null;
  }

  setActive(id) {
    this.activeId = id;
    for (const item of this.list.querySelectorAll(".thread-item")) {
      const active = item.dataset.threadId === id;
      item.classList.toggle("active", active);
      const link = item.querySelector(".thread-link");
      if (link) {
        if (active) link.setAttribute("aria-current", "page");
        else link.removeAttribute("aria-current");
      }
    }
  }

  render() {
    if (!this.threads.length) {
      this.list.replaceChildren(h("p", { class: "sidebar-empty", text: this.query ? "No chats match your search." : "No chats yet." }));
      return;
    }
    const nodes = [];
    let group = null;
    for (const thread of this.threads) {
      const label = dayGroup(activity(thread));
      if (label !== group) {
        group = label;
        nodes.push(h("div", { class: "thread-group", text: label }));
      }
      nodes.push(this.item(thread));
    }
    this.list.replaceChildren(...nodes);
    this.setActive(this.activeId);
  }

  item(thread) {
    const title = threadTitle(thread);
    const link = h("a", { class: "thread-link", href: `/c/${thread.id}`, title, text: title });
    link.addEventListener("click", (event) => {
      if (event.metaKey || event.ctrlKey || event.shiftKey || event.button !== 0) return;
      event.preventDefault();
      this.onOpen(thread.id);
    });
    const rename = h("button", { type: "button", class: "icon-btn small", "aria-label": `Rename chat: ${title}`, title: "Rename" }, icon("pencil", { size: 15 }));
    const remove = h("button", { type: "button", class: "icon-btn small danger", "aria-label": `Delete chat: ${title}`, title: "Delete" }, icon("trash", { size: 15 }));
    const item = h("div", { class: "thread-item", role: "listitem", dataset: { threadId: thread.id } }, link,
      h("div", { class: "thread-actions" }, rename, remove));
    rename.addEventListener("click", () => this.startRename(item, thread));
    remove.addEventListener("click", () => this.delete(thread));
    return item;
  }

  startRename(item, thread) {
    const link = item.querySelector(".thread-link");
    const input = h("input", { class: "thread-rename", type: "text", maxlength: 200, "aria-label": "Chat title" });
    input.value = threadTitle(thread);
    link.replaceWith(input);
    input.focus();
    input.select();
    let done = false;
    const finish = async (save) => {
      if (done) return;
      done = true;
      const title = input.value.trim();
      if (!save || !title || title === threadTitle(thread)) {
        this.render();
        return;
      }
      try {
        const updated = await this.api.post(`/threads/${thread.id}`, { title });
        this.threads = this.threads.map((t) => (t.id === thread.id ? updated : t));
      } catch (problem) {
        this.notify(problem.message);
      }
      this.render();
    };
    input.addEventListener("keydown", (event) => {
      if (event.key === "Enter") {
        event.preventDefault();
        finish(true);
      } else if (event.key === "Escape") {
        event.preventDefault();
        event.stopPropagation();
        finish(false);
      }
    });
    input.addEventListener("blur", () => finish(true));
  }

  async delete(thread) {
    const ok = await this.confirm(`Delete “${threadTitle(thread)}”? This removes its messages and runs for good.`, "Delete chat");
    if (!ok) return;
    try {
      await this.api.del(`/threads/${thread.id}`);
    } catch (problem) {
      if (problem.status !== 404) {
        this.notify(problem.message);
        return;
      }
    }
    this.remove(thread.id);
    this.onDeleted(thread.id);
  }
}
