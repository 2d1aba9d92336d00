// The composer's attachments: a button, drag and drop, and pasted images. Each file is
// uploaded at once to /v1/files (XMLHttpRequest, for its upload progress), shown as a chip
// with a progress bar, and sent with the next message as `file_ids`. A refused upload
// (too large, over quota) shows the server's message and leaves no chip.

import { h, icon } from "./dom.js";

const IMAGE = /^image\/(png|jpeg|gif|webp)$/;
export const MAX_ATTACHMENTS = 20;

/** Where a file's bytes are (the session cookie authenticates the browser). */
export const fileUrl = (fileId) => `/v1/files/${encodeURIComponent(fileId)}/content`;

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) return meta.content;
  const match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1]) : "";
}

/** Upload `file`; `onProgress(fraction)` as it goes. Resolves to the File object, rejects with the server's message. */
export function uploadFile(file, { onProgress = () => {}, purpose } = {}) {
  return new Promise((resolve, reject) => {
    const form = new FormData();
    form.append("purpose", purpose || (IMAGE.test(file.type) ? "vision" : "assistants"));
    form.append("file", file, file.name || "pasted-image.png");
    const xhr = new XMLHttpRequest();
    xhr.open("POST", "/v1/files");
    xhr.setRequestHeader("X-CSRFToken", csrfToken());
    xhr.setRequestHeader("Accept", "application/json");
    xhr.upload.addEventListener("progress", (event) => { if (event.lengthComputable) onProgress(event.loaded / event.total); });
    xhr.addEventListener("load", () => {
      let data = null;
      try { data = JSON.parse(xhr.responseText); } catch { /* not JSON: said below */ }
      if (xhr.status >= 200 && xhr.status < 300 && data && data.id) resolve(data);
      else reject(new Error((data && data.error && data.error.message) || `The upload failed (${xhr.status}).`));
    });
    xhr.addEventListener("error", () => reject(new Error("The upload could not reach the server.")));
    xhr.send(form);
  });
}

export class Attachments {
  /** `list`: where chips go; `onError(message)`; `onChange()` when ids or busy change. */
  constructor({ list, onError, onChange }) {
    this.list = list;
    this.onError = onError;
    this.onChange = onChange || (() => {});
    this.items = []; // {key, file, id, progress, chip, preview}
    this.seq = 0;
  }

  /** The uploaded files' ids, in the order they were added. */
  ids() {
    return this.items.filter((item) => item.id).map((item) => item.id);
  }

  busy() {
    return this.items.some((item) => !item.id);
  }

  /** The images attached, for the message shown before the server answers. */
  images() {
    return this.items.filter((item) => item.id && item.image).map((item) => ({ fileId: item.id }));
  }

  add(files) {
    for (const file of Array.from(files || [])) {
      if (this.items.length >= MAX_ATTACHMENTS) {
        this.onError(`At most ${MAX_ATTACHMENTS} files can go with one message.`);
        break;
      }
      this.upload(file);
    }
  }

  upload(file) {
    // No local preview (the page's CSP allows images from itself only): the chip shows the
    // uploaded image once the server has it.
    const item = { key: ++this.seq, file, id: null, image: IMAGE.test(file.type) };
    const thumb = h("span", { class: "attach-kind", text: (file.name.split(".").pop() || "file").slice(0, 4) });
    const bar = h("span", { class: "attach-bar" }); // width set through CSSOM (the CSP forbids style attributes)
    const remove = h("button", { type: "button", class: "icon-btn small", "aria-label": `Remove ${file.name}`, onclick: () => this.remove(item) }, icon("x", { size: 12 }));
    item.chip = h("li", { class: "attach-chip uploading", dataset: { name: file.name || "" } },
      thumb,
      h("span", { class: "attach-name", text: file.name || "image", title: file.name }),
      h("span", { class: "attach-progress", role: "progressbar", "aria-label": `Uploading ${file.name}` }, bar),
      remove);
    this.items.push(item);
    this.list.append(item.chip);
    this.list.hidden = false;
    this.onChange();
    uploadFile(file, { onProgress: (fraction) => { bar.style.width = `${Math.round(fraction * 100)}%`; } })
      .then((uploaded) => {
        if (!this.items.includes(item)) return;
        item.id = uploaded.id;
        item.chip.dataset.fileId = uploaded.id;
        item.chip.classList.remove("uploading");
        if (item.image) thumb.replaceWith(h("img", { src: fileUrl(uploaded.id), alt: "" }));
        this.onChange();
      })
      .catch((problem) => {
        this.remove(item);
        this.onError(`${file.name || "The file"} was not attached: ${problem.message}`);
      });
  }

  remove(item) {
    this.items = this.items.filter((other) => other !== item);
    item.chip.remove();
    this.list.hidden = !this.items.length;
    this.onChange();
  }

  /** Forget the chips after a send. */
  clear() {
    for (const item of this.items) item.chip.remove();
    this.items = [];
    this.list.hidden = true;
    this.onChange();
  }

  /** Drag and drop onto `target`, and images pasted into `pasteTarget`. */
  wire({ button, input, target, pasteTarget }) {
    button.addEventListener("click", () => input.click());
    input.addEventListener("change", () => { this.add(input.files); input.value = ""; });
    target.addEventListener("dragover", (event) => {
      if (!Array.from(event.dataTransfer.types).includes("Files")) return;
      event.preventDefault();
      target.classList.add("dropping");
    });
    target.addEventListener("dragleave", () => target.classList.remove("dropping"));
    target.addEventListener("drop", (event) => {
      target.classList.remove("dropping");
      if (!event.dataTransfer.files.length) return;
      event.preventDefault();
      this.add(event.dataTransfer.files);
    });
    pasteTarget.addEventListener("paste", (event) => {
      const files = Array.from(event.clipboardData.files || []).filter((file) => file.type.startsWith("image/"));
      if (!files.length) return;
      event.preventDefault();
      this.add(files);
    });
  }
}

/** A stored image shown in the conversation, linked to its download. */
export function imageLink(fileId, label = "Image") {
  return h("a", { class: "file-image", href: fileUrl(fileId), title: `Download ${label}`, dataset: { fileId } },
    h("img", { src: fileUrl(fileId), alt: label, loading: "lazy" }));
}
