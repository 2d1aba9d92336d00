// One WebSocket per open thread (/ws/threads/<id>/), reconnecting with backoff.
//
// The server sends `ready` on every (re)connection; the app decides from it what to replay.

const PING_MS = 25000;
const BACKOFF_MS = [500, 1000, 2000, 4000, 8000];
export const CLOSE_UNAUTHENTICATED = 4401;
export const CLOSE_NOT_FOUND = 4404;

export class ThreadSocket {
  constructor(path, { onFrame, onState }) {
    this.url = `${location.protocol === "https:" ? "wss" : "ws"}://${location.host}${path}`;
    this.onFrame = onFrame;
    this.onState = onState || (() => {});
    this.ws = null;
    this.attempt = 0;
    this.closed = false;
    this.isReady = false;
    this.readyWaiters = [];
  }

  connect() {
    if (this.closed) return;
    const ws = new WebSocket(this.url);
    this.ws = ws;
    this.onState("connecting");
    ws.addEventListener("message", (message) => {
      if (ws !== this.ws) return;
      let frame;
      try { frame = JSON.parse(message.data); } catch { return; }
      if (frame.type === "ready") {
        this.attempt = 0;
        this.isReady = true;
        this.onState("open");
        this.readyWaiters.splice(0).forEach((resolve) => resolve(true));
      }
      this.onFrame(frame);
    });
    ws.addEventListener("close", (event) => {
      if (ws !== this.ws) return;
      clearInterval(this.pinger);
      this.isReady = false;
      if (this.closed) return;
      if (event.code === CLOSE_UNAUTHENTICATED || event.code === CLOSE_NOT_FOUND) {
        this.closed = true;
        this.onState("gone", event.code);
        this.readyWaiters.splice(0).forEach((resolve) => resolve(false));
        return;
      }
      const delay = BACKOFF_MS[Math.min(this.attempt, BACKOFF_MS.length - 1)];
      this.attempt += 1;
      this.onState("reconnecting");
      this.retry = setTimeout(() => this.connect(), delay);
    });
    this.pinger = setInterval(() => this.send({ type: "ping" }), PING_MS);
  }

  /** Resolves true once the server said `ready` (false when the socket is given up). */
  ready(timeoutMs = 10000) {
    if (this.isReady) return Promise.resolve(true);
    if (this.closed) return Promise.resolve(false);
    return new Promise((resolve) => {
      this.readyWaiters.push(resolve);
      setTimeout(() => resolve(this.isReady), timeoutMs);
    });
  }

  send(frame) {
    if (!this.ws || this.ws.readyState !== WebSocket.OPEN) return false;
    this.ws.send(JSON.stringify(frame));
    return true;
  }

  close() {
    this.closed = true;
    clearTimeout(this.retry);
    clearInterval(this.pinger);
    this.readyWaiters.splice(0).forEach((resolve) => resolve(false));
    if (this.ws) this.ws.close(1000);
  }
}
