// The REST client: /v1 with the session cookie, and the CSRF token on unsafe methods.

export class ApiError extends Error {
  constructor(message, status, error) {
    super(message);
    this.status = status;
    this.error = error || null;
  }
}

function csrfToken() {
  const meta = document.querySelector('meta[name="csrf-token"]');
  if (meta && meta.content) return meta.content;
  const match = /(?:^|;\s*)csrftoken=([^;]+)/.exec(document.cookie);
  return match ? decodeURIComponent(match[1]) : "";
}

export function signInAgain() {
  const next = encodeURIComponent(location.pathname + location.search);
  location.assign(`/login/?next=${next}`);
}

export function createApi(base) {
  async function request(path, { method = "GET", body, query } = {}) {
    let url = base + path;
    if (query) {
      const params = new URLSearchParams();
      for (const [key, value] of Object.entries(query)) if (value != null && value !== "") params.set(key, value);
      const text = params.toString();
      if (text) url += `?${text}`;
    }
    const headers = { Accept: "application/json" };
    if (body !== undefined) headers["Content-Type"] = "application/json";
    if (method !== "GET") headers["X-CSRFToken"] = csrfToken();
    let response;
    try {
      response = await fetch(url, { method, headers, credentials: "same-origin", body: body === undefined ? undefined : JSON.stringify(body) });
    } catch {
      throw new ApiError("The server could not be reached. Check your connection and try again.", 0);
    }
    const data = await response.json().catch(() => null);
    if (response.status === 401) {
      signInAgain();
      throw new ApiError("Your session has ended; sign in again.", 401, data && data.error);
    }
    if (!response.ok) {
      const message = (data && data.error && data.error.message) || `${response.status} ${response.statusText}`;
      throw new ApiError(message, response.status, data && data.error);
    }
    return data;
  }
  return {
    get: (path, query) => request(path, { query }),
    post: (path, body) => request(path, { method: "POST", body: body ?? {} }),
    del: (path) => request(path, { method: "DELETE" }),
    raw: request,
  };
}

/** Every page of a list endpoint (bounded: at most ``max`` items). */
export async function listAll(api, path, query = {}, max = 500) {
  const items = [];
  let after = null;
  while (items.length < max) {
    const page = await api.get(path, { limit: 100, ...query, after });
    items.push(...page.data);
    if (!page.has_more || !page.data.length) break;
    after = page.last_id;
  }
  return items;
}
