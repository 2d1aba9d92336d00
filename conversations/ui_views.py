"""The chat UI: sign-in and sign-out, the page itself, and what its script needs from Django.

The page is static HTML plus ES modules (static/chat/); everything it shows comes from
/v1 (REST, session cookie + CSRF header) and /ws/threads/<id>/ (docs/ui.md).
"""

from __future__ import annotations

import functools
import json
import posixpath
import time
from pathlib import Path

from asgiref.sync import async_to_sync
from django.conf import settings
from django.contrib.auth import views as auth_views
from django.contrib.auth.decorators import login_required
from django.contrib.staticfiles import finders
from django.http import FileResponse, Http404, HttpRequest, HttpResponse, JsonResponse
from django.shortcuts import render
from django.utils.cache import patch_cache_control
from django.views.decorators.http import require_GET, require_POST, require_safe
from django.views.static import serve

from assistants.services import assistant_ensure_default
from conversations.presenters import message_object, run_object, thread_export_markdown, thread_export_object
from conversations.selectors import run_step_objects, thread_chat_history, thread_export_messages, thread_get_for_user
from conversations.services.chat import chat_version_select
from kernel.api.errors import error_json_response
from kernel.errors import EntitiesError, InvalidRequest, NotFound
from inference.factory import backends_status
from inference.registry import function_tool_definition, registered_functions

# Defence in depth under the sanitiser: no inline script or handler can run on these pages,
# and nothing (images included) loads from another origin.
CONTENT_SECURITY_POLICY = (
    "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
    "connect-src 'self' {ws_origins}; object-src 'none'; base-uri 'none'; "
    "frame-ancestors 'none'; form-action 'self'"
)


def _with_csp(request: HttpRequest, response: HttpResponse) -> HttpResponse:
    host = request.get_host()
    response["Content-Security-Policy"] = CONTENT_SECURITY_POLICY.format(ws_origins=f"ws://{host} wss://{host}")
    return response


class LoginView(auth_views.LoginView):
    template_name = "registration/login.html"
    redirect_authenticated_user = True

    def render_to_response(self, context, **kwargs) -> HttpResponse:
        return _with_csp(self.request, super().render_to_response(context, **kwargs))


class LogoutView(auth_views.LogoutView):
    """POST only (Django's rule): a link or an image cannot sign anyone out."""


@login_required
@require_safe
def chat_index(request: HttpRequest, thread_id: str | None = None) -> HttpResponse:
    """The chat page; `/c/<thread_id>` opens that thread (404 unless it is the user's)."""
    if thread_id is not None:
        try:
            thread_get_for_user(user=request.user, thread_id=thread_id)
        except NotFound as exc:
            raise Http404(exc.message) from exc
    if not request.session.get("entities_default_checked"):  # the first visit lands in a chat that works
        assistant_ensure_default(user=request.user)
        request.session["entities_default_checked"] = True
    config = {
        "username": request.user.get_username(),
        "threadId": thread_id,
        "apiBase": "/v1",
        "functionsUrl": "/ui/functions",
        "historyUrl": "/ui/threads/",
        "wsPath": "/ws/threads/",
        "defaultInference": settings.ENTITIES_DEFAULT_INFERENCE,
        "defaultModel": settings.ENTITIES_DEFAULT_MODEL,
        "backendsUrl": "/ui/backends",
        # How OpenAI model names (gpt-4o, …) map onto backends (ENTITIES_MODEL_ROUTES), shown in the editor.
        "modelRoutes": [{"pattern": p, "model": m} for p, m in settings.ENTITIES_MODEL_ROUTES],
    }
    response = render(request, "chat/index.html", {"config": config})
    patch_cache_control(response, no_store=True)
    return _with_csp(request, response)


@require_GET
def function_list(request: HttpRequest) -> JsonResponse:
    """The registered server-side functions, as assistant `tools` entries (for the editor)."""
    if not request.user.is_authenticated:
        return JsonResponse({"error": {"message": "Sign in first.", "type": "invalid_request_error",
                                       "param": None, "code": "unauthenticated"}}, status=401)
    data = [function_tool_definition(spec) for spec in registered_functions()]
    return JsonResponse({"object": "list", "data": data})


_backends_cache: tuple[float, list[dict]] | None = None
BACKENDS_CACHE_SECONDS = 10.0


@require_GET
def backend_list(request: HttpRequest) -> JsonResponse:
    """Every configured backend and whether it answers now (probed concurrently, each bounded,
    cached briefly): the badge and the editor show a backend that is down before a send."""
    global _backends_cache
    if not request.user.is_authenticated:
        return error_json_response(401, "Sign in first.", code="unauthenticated")
    now = time.monotonic()
    if _backends_cache is None or now - _backends_cache[0] > BACKENDS_CACHE_SECONDS:
        status = async_to_sync(backends_status)()
        data = [{"type": kind, "ok": bool(info.get("ok")), "models": info.get("models") or 0,
                 "error": info.get("error") or None, "protocol": info.get("protocol")} for kind, info in status.items()]
        _backends_cache = (time.monotonic(), data)
    response = JsonResponse({"object": "list", "data": _backends_cache[1],
                             "routes": [{"pattern": p, "model": m} for p, m in settings.ENTITIES_MODEL_ROUTES]})
    patch_cache_control(response, no_store=True)
    return response


def _signed_in_thread(view):
    """A JSON route of the chat page on one of the user's threads: 401 before sign-in, 404 for
    anyone else's thread, a domain error in the envelope; ``view(request, thread)`` does the rest."""

    @functools.wraps(view)
    def wrapped(request: HttpRequest, thread_id: str) -> HttpResponse:
        if not request.user.is_authenticated:
            return error_json_response(401, "Sign in first.", code="unauthenticated")
        try:
            response = view(request, thread_get_for_user(user=request.user, thread_id=thread_id))
        except EntitiesError as exc:
            return error_json_response(exc.status, exc.message, param=exc.param, code=exc.code)
        patch_cache_control(response, no_store=True)
        return response

    return wrapped


@require_GET
@_signed_in_thread
def thread_history(request: HttpRequest, thread) -> JsonResponse:
    """The chat page's snapshot of a thread (docs/ui.md): its transcript as the server orders it,
    with each run's steps and whether a regenerate replaced it, in the /v1 object shapes."""
    entries, has_more = thread_chat_history(thread=thread, before=request.GET.get("before") or None)
    return JsonResponse(_snapshot(thread, entries, has_more))


def _snapshot(thread, entries: list[dict], has_more: bool) -> dict:
    items = []
    for entry in entries:
        versions = {"ids": entry["versions"], "index": entry["versions"].index(entry["key"])
                    if entry["key"] in entry["versions"] else 0}
        if entry["type"] == "user":
            items.append({"type": "user", "key": entry["key"], "message": message_object(entry["message"]),
                          "versions": versions})
            continue
        run = entry["run"]
        items.append({
            "type": "run",
            "key": entry["key"],
            "run": run_object(run) if run else None,
            "messages": [message_object(message) for message in entry["messages"]],
            # Tool cards come back from the steps; a run without tools has only message steps.
            "steps": run_step_objects(run=run) if run and run.tools else [],
            "versions": versions,
        })
    # ``before``: the cursor for the page of entries just before these (has_more only).
    return {"object": "chat.history", "thread_id": thread.id, "items": items, "has_more": has_more,
            "before": items[0]["key"] if has_more and items else None}


@require_GET
@_signed_in_thread
def thread_export(request: HttpRequest, thread) -> HttpResponse:
    """Download a chat (its active branch): ``?format=md`` (Markdown) or ``json`` (the thread
    and its messages in the /v1 shapes)."""
    kind = request.GET.get("format", "md")
    if kind not in ("md", "json"):
        raise InvalidRequest("'format' must be 'md' or 'json'.", param="format")
    messages = thread_export_messages(thread=thread)
    if kind == "md":
        response = HttpResponse(thread_export_markdown(thread, messages), content_type="text/markdown; charset=utf-8")
    else:
        response = JsonResponse(thread_export_object(thread, messages), json_dumps_params={"indent": 2})
    response["Content-Disposition"] = f'attachment; filename="{thread.id}.{kind}"'
    return response


@require_POST
@_signed_in_thread
def thread_version_select(request: HttpRequest, thread) -> JsonResponse:
    """Switch one place of the conversation to another version (``{"version": id}``, an id
    from that entry's ``versions``); answers the fresh snapshot's last page."""
    try:
        body = json.loads(request.body or b"{}")
    except (ValueError, UnicodeDecodeError):
        raise InvalidRequest("The body must be a JSON object.") from None
    if not isinstance(body, dict):
        raise InvalidRequest("The body must be a JSON object.")
    chat_version_select(thread=thread, version_id=body.get("version"))
    entries, has_more = thread_chat_history(thread=thread)
    return JsonResponse(_snapshot(thread, entries, has_more))


@require_safe
def static_file(request: HttpRequest, path: str) -> HttpResponse:
    """Serve static files with DEBUG off too: from STATIC_ROOT after collectstatic, else from
    the finders (static/ and the apps). Revalidated on every load (304s are cheap), since
    the names carry no content hash."""
    path = posixpath.normpath(path).lstrip("/")
    if path.startswith("..") or path == ".":
        raise Http404("No such static file.")
    root = Path(settings.STATIC_ROOT) if settings.STATIC_ROOT else None
    if root is not None and (root / path).is_file() and _inside(root, root / path):
        document_root = root
    else:
        found = finders.find(path)
        if not found:
            raise Http404("No such static file.")
        found = Path(found)
        document_root = found.parents[len(Path(path).parts) - 1]
    response = _buffered(serve(request, path, document_root=str(document_root)))
    if path.endswith(".mjs"):
        response["Content-Type"] = "text/javascript"
    patch_cache_control(response, public=True, no_cache=True)
    return response


def _buffered(response: HttpResponse) -> HttpResponse:
    # These files are small; sent from memory, ASGI needs no thread per file (and does not
    # warn about consuming a synchronous file iterator).
    if not isinstance(response, FileResponse):
        return response
    try:
        body = b"".join(response.streaming_content)
    finally:
        response.close()
    buffered = HttpResponse(body, content_type=response["Content-Type"])
    for header in ("Last-Modified", "Content-Encoding"):
        if header in response:
            buffered[header] = response[header]
    return buffered


def _inside(root: Path, candidate: Path) -> bool:
    try:
        candidate.resolve().relative_to(root.resolve())
    except ValueError:
        return False
    return True
