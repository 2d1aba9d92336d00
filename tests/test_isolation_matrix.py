"""Bob against every route of alice's: the matrix is generated from the URL configuration.

Each route of `get_resolver()` (and each WebSocket route) is filled with alice's real ids
and called by bob with every method its view allows, `stream: true` bodies included. A
route whose path parameter the matrix cannot fill fails the test, so a new endpoint is
covered the day it is added. Alice's run waits in `requires_action` with a pending call,
so a missing ownership check would show as a 200, not hide behind a state error.
"""

from __future__ import annotations

import json
import re
import uuid
from dataclasses import dataclass

import httpx
import pytest
from django.contrib import admin
from django.contrib.auth import get_user_model
from django.contrib.auth.models import Permission
from django.test import Client
from django.urls import URLPattern, URLResolver, get_resolver, reverse
from websockets.exceptions import ConnectionClosed, InvalidStatus
from websockets.sync.client import connect

from conversations.models import Action, Run, Thread
from entities_project.routing import websocket_urlpatterns
from testsupport.live import sdk_for

PARAM = re.compile(r"<(?:(?P<converter>[^>:]+):)?(?P<name>[^>]+)>")
# Parameters naming one of alice's objects: bob must get 404 for each.
OWNED = ("thread_id", "run_id", "message_id", "step_id", "assistant_id", "file_id", "store_id", "batch_id",
         "response_id", "conversation_id", "item_id")
# Parameters that name nothing anyone owns, and what to fill them with.
UNOWNED = {"model": "demo/echo", "path": "chat/no-such-file.js"}
# The admin has its own rules (staff and permissions): tested below, not by ownership.
EXCLUDED_PREFIXES = ("admin/",)
HANDLERS = ("get", "post", "put", "patch", "delete")
CSRF = "a" * 32


@dataclass
class Route:
    pattern: str
    name: str | None
    view: object

    @property
    def params(self) -> list[str]:
        return [m["name"] for m in PARAM.finditer(self.pattern)]

    @property
    def owned(self) -> bool:
        return any(p in OWNED for p in self.params)

    @property
    def is_function_view(self) -> bool:
        return self._view_class is None

    @property
    def _view_class(self):
        return getattr(self.view, "view_class", None) or getattr(self.view, "cls", None)

    def methods(self) -> list[str]:
        """The handlers a class-based view defines; a function view is tried with GET and POST."""
        view_class = self._view_class
        if view_class is None:
            return ["GET", "HEAD", "POST"]
        names = [m for m in HANDLERS if hasattr(view_class, m)]
        return [m.upper() for m in names] + (["HEAD"] if "get" in names else [])

    def url(self, values: dict[str, str]) -> str:
        missing = [p for p in self.params if p not in values]
        assert not missing, f"the isolation matrix cannot fill {missing} of route {self.pattern!r}: teach it"
        return "/" + PARAM.sub(lambda m: values[m["name"]], self.pattern)


def http_routes() -> list[Route]:
    def walk(patterns, prefix=""):
        for entry in patterns:
            if isinstance(entry, URLResolver):
                yield from walk(entry.url_patterns, prefix + str(entry.pattern))
            elif isinstance(entry, URLPattern):
                yield Route(prefix + str(entry.pattern), entry.name, entry.callback)

    return [r for r in walk(get_resolver().url_patterns) if not r.pattern.startswith(EXCLUDED_PREFIXES)]


@pytest.fixture
def alices(live_entities, alice):
    """Alice's objects, all marked with a secret bob must never see, and her run paused on a call."""
    secret = f"alice-secret-{uuid.uuid4().hex}"
    sdk = sdk_for(live_entities, alice).beta
    tool = {"type": "function", "function": {"name": "lookup", "parameters": {"type": "object", "properties": {}}}}
    assistant = sdk.assistants.create(model="demo/tools", name=secret, instructions=secret, tools=[tool],
                                      metadata={"s": secret})
    thread = sdk.threads.create(messages=[{"role": "user", "content": f"{secret} call lookup"}],
                                metadata={"s": secret})
    run = sdk.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, metadata={"s": secret},
                                           poll_interval_ms=20)
    assert run.status == "requires_action", run.last_error
    step = sdk.threads.runs.steps.list(run.id, thread_id=thread.id).data[0]
    message = sdk.threads.messages.list(thread.id, order="asc").data[0]
    call = run.required_action.submit_tool_outputs.tool_calls[0].id
    root = sdk_for(live_entities, alice)
    file = root.files.create(file=("notes.txt", secret.encode()), purpose="assistants")
    batch_file = root.files.create(file=("more.txt", secret.encode()), purpose="assistants")
    store = root.vector_stores.create(name=secret, file_ids=[file.id], metadata={"s": secret})
    batch = root.vector_stores.file_batches.create(store.id, file_ids=[batch_file.id])
    response = root.responses.create(model="demo/echo", input=secret, metadata={"s": secret})
    conversation = root.conversations.create(metadata={"s": secret},
                                             items=[{"type": "message", "role": "user", "content": secret}])
    item = root.conversations.items.list(conversation.id).data[0]
    return {"secret": secret, "assistant_id": assistant.id, "thread_id": thread.id, "message_id": message.id,
            "run_id": run.id, "step_id": step.id, "call_id": call, "file_id": file.id, "store_id": store.id,
            "batch_id": batch.id, "response_id": response.id, "conversation_id": conversation.id,
            "item_id": item.id}


def _bodies(route: Route, method: str, ids: dict) -> list[dict | None]:
    """What bob sends: nothing, a body naming alice's objects, and its `stream: true` form."""
    if method not in ("POST", "PUT", "PATCH"):
        return [None]
    references = {"assistant_id": ids["assistant_id"], "metadata": {"by": "bob"},
                  "tool_outputs": [{"tool_call_id": ids["call_id"], "output": "bob"}]}
    if route.name == "seed-process":
        said = [{"role": "user", "content": "hello"}]
        return [{"messages": said, "threadId": ids["thread_id"], "inferenceType": "demo", "model": "echo"},
                {"messages": said, "thread_id": ids["thread_id"]},
                {"messages": said, "assistantId": ids["assistant_id"], "inferenceType": "demo", "model": "echo"}]
    if route.name in ("thread-and-run", "run-list"):
        return [{"assistant_id": ids["assistant_id"]}, {"assistant_id": ids["assistant_id"], "stream": True}]
    if route.name == "run-submit-tool-outputs":
        return [{"tool_outputs": references["tool_outputs"]}, {"tool_outputs": references["tool_outputs"], "stream": True}]
    return [{}, references]


def _order(item: tuple) -> int:
    # Deletions last, so every other call meets alice's objects; signing out after everything
    # else, so bob's session holds for every route that reads it.
    return 2 if item[0].name == "logout" else 1 if item[1] == "DELETE" else 0


def test_the_matrix_knows_every_route_and_method():
    """Every parameter of every route can be filled; the routes that matter are in it."""
    routes = http_routes()
    fillable = {**{p: "x" for p in OWNED}, **UNOWNED}
    names = {r.name for r in routes if r.owned}

    for route in routes:
        route.url(fillable)
    assert {"thread-detail", "message-detail", "run-detail", "run-cancel", "run-submit-tool-outputs",
            "run-step-detail", "run-events", "assistant-detail", "chat-thread"} <= names
    assert {r.name: r.methods() for r in routes if r.name in ("run-detail", "thread-detail", "run-events")} == {
        "run-detail": ["GET", "POST", "HEAD"], "thread-detail": ["GET", "POST", "DELETE", "HEAD"],
        "run-events": ["GET", "HEAD"]}


def test_bob_gets_404_on_every_route_of_alices(live_entities, alice, bob, alices):
    session = Client()
    session.force_login(bob.user)
    cookies = {"sessionid": session.cookies["sessionid"].value, "csrftoken": CSRF}
    headers = {**bob.headers, "X-CSRFToken": CSRF}
    values = {**{p: alices[p] for p in OWNED}, **UNOWNED}
    calls = sorted(((route, method) for route in http_routes() for method in route.methods()), key=_order)
    answers: list[tuple] = []
    with httpx.Client(base_url=live_entities.url, headers=headers, cookies=cookies, timeout=30) as client:
        for route, method in calls:
            for body in _bodies(route, method, alices):
                response = client.request(method, route.url(values), json=body)
                answers.append((route, method, body, response))

    leaks = [(r.pattern, m, b, resp.status_code) for r, m, b, resp in answers if alices["secret"] in resp.text]
    assert leaks == []
    # Routes naming alice's objects, and requests whose body names them: 404 (405 for a method a
    # function view does not offer, e.g. GET on a POST-only route), never 200, 403 or 500.
    refused = [(r, m, resp.status_code) for r, m, b, resp in answers
               if r.owned or (b and r.name in ("thread-and-run", "seed-process"))]
    wrong = [(r.pattern, m, status) for r, m, status in refused
             if status != 404 and not (status == 405 and r.is_function_view)]
    assert len(refused) > 40 and wrong == [], wrong
    assert all(resp.status_code < 500 for _, _, _, resp in answers), [
        (r.pattern, m, resp.status_code, resp.text[:300]) for r, m, _, resp in answers if resp.status_code >= 500]
    api = [resp.json() for r, m, b, resp in answers if r.owned and r.pattern.startswith("v1/") and m != "HEAD"]
    assert {(e["error"]["type"], e["error"]["code"]) for e in api} == {("invalid_request_error", "not_found")}
    # Nothing bob tried changed anything of alice's.
    run = Run.objects.get(pk=alices["run_id"])
    assert (run.status, run.metadata["s"], Thread.objects.get(pk=alices["thread_id"]).metadata["s"]) == (
        "requires_action", alices["secret"], alices["secret"])
    assert Action.objects.get(pk=alices["call_id"]).status == "pending"


def test_bob_sees_none_of_alices_objects_in_his_lists(live_entities, bob, alices):
    with httpx.Client(base_url=live_entities.v1, headers=bob.headers, timeout=30) as client:
        lists = [client.get(path).json() for path in ("/assistants", "/threads", f"/threads?search={alices['secret']}")]

    assert lists == [{"object": "list", "data": [], "first_id": None, "last_id": None, "has_more": False}] * 3


def _ws_routes() -> list[Route]:
    return [Route(str(p.pattern), p.name, p.callback) for p in websocket_urlpatterns]


def _refusal(url: str, **options) -> int:
    """How the server turned the socket away: the close code before any frame, or the handshake's status."""
    try:
        with connect(url, open_timeout=5, **options) as socket:
            frame = socket.recv(timeout=5)
    except InvalidStatus as refused:
        return refused.response.status_code
    except ConnectionClosed as closed:
        return closed.rcvd.code if closed.rcvd else 1006
    raise AssertionError(f"bob's socket to {url} got in and received {frame[:200]}")


def test_bobs_websocket_to_alices_thread_is_refused(live_entities, bob, alices):
    session = Client()
    session.force_login(bob.user)
    cookie = {"additional_headers": {"Cookie": f"sessionid={session.cookies['sessionid'].value}"}}
    values = {**{p: alices[p] for p in OWNED}, **UNOWNED}
    refusals = []
    for route in _ws_routes():
        url = live_entities.ws_url + route.url(values)
        refusals += [_refusal(f"{url}?token={bob.api_key}"), _refusal(url, **cookie)]

    # The consumer accepts only to close with 4404 (so a browser learns why); a refusal of the
    # handshake itself (403) would do as well. Either way, no frame of alice's thread.
    assert refusals and set(refusals) <= {4404, 403}, refusals


def test_bobs_websocket_frames_cannot_reach_alices_objects(live_entities, bob, alices):
    bobs_thread = sdk_for(live_entities, bob).beta.threads.create()
    frames = [
        {"type": "send", "assistant_id": alices["assistant_id"], "content": "hi"},
        {"type": "regenerate", "assistant_id": alices["assistant_id"]},
        {"type": "subscribe", "run_id": alices["run_id"]},
        {"type": "cancel", "run_id": alices["run_id"]},
        {"type": "submit_tool_outputs", "run_id": alices["run_id"],
         "tool_outputs": [{"tool_call_id": alices["call_id"], "output": "bob"}]},
    ]
    with connect(f"{live_entities.ws_url}/ws/threads/{bobs_thread.id}/?token={bob.api_key}", open_timeout=5) as socket:
        ready = json.loads(socket.recv(timeout=5))
        answers = []
        for frame in frames:
            socket.send(json.dumps(frame))
            answers.append(json.loads(socket.recv(timeout=5)))

    assert ready == {"type": "ready", "thread_id": bobs_thread.id, "active_run": None}
    assert [(a["type"], a["request_type"], a["error"]["code"]) for a in answers] == [
        ("error", f["type"], "not_found") for f in frames]
    assert alices["secret"] not in json.dumps(answers)
    assert Run.objects.get(pk=alices["run_id"]).status == "requires_action"


# --- the admin: the permission system decides, not ownership -------------------------------

def _changelists() -> list[str]:
    return [reverse(f"admin:{m._meta.app_label}_{m._meta.model_name}_changelist") for m in admin.site._registry]


def _staff(username: str, *perms: str):
    user = get_user_model().objects.create_user(username=username, password="pw-not-used", is_staff=True)
    user.user_permissions.add(*(Permission.objects.get(codename=p) for p in perms))
    client = Client()
    client.force_login(user)
    return client


def test_a_staff_user_without_permissions_gets_403_on_every_changelist(db):
    client = _staff("staff-no-perms")

    assert len(_changelists()) >= 6
    assert {url: client.get(url).status_code for url in _changelists()} == {url: 403 for url in _changelists()}


def test_a_staff_user_sees_only_the_models_he_may_view(db):
    client = _staff("staff-threads", "view_thread")
    allowed = reverse("admin:conversations_thread_changelist")

    statuses = {url: client.get(url).status_code for url in _changelists()}

    assert statuses == {url: 200 if url == allowed else 403 for url in _changelists()}
    assert client.get(reverse("admin:conversations_thread_add")).status_code == 403


def test_a_superuser_gets_200_on_every_changelist(db):
    user = get_user_model().objects.create_superuser(username="root-admin", password="pw-not-used")
    client = Client()
    client.force_login(user)

    assert {url: client.get(url).status_code for url in _changelists()} == {url: 200 for url in _changelists()}


def test_a_signed_in_non_staff_user_is_sent_to_the_admin_login(db, bob):
    client = Client()
    client.force_login(bob.user)

    answers = {url: client.get(url) for url in _changelists()}

    assert {url: (r.status_code, r["Location"].split("?")[0]) for url, r in answers.items()} == {
        url: (302, reverse("admin:login")) for url in _changelists()}
