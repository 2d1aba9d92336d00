"""The chat UI's Django views: sign-in, the page, /ui/functions and static files with DEBUG off."""

from __future__ import annotations

import json
import re

import pytest
from django.test import Client

from testsupport.factories import make_thread

pytestmark = pytest.mark.django_db

PASSWORD = "correct horse battery staple"


@pytest.fixture
def signed_in(alice) -> Client:
    alice.user.set_password(PASSWORD)
    alice.user.save()
    client = Client()
    client.force_login(alice.user)
    return client


def test_it_sends_anonymous_visitors_to_the_login_page(client):
    response = client.get("/")

    assert response.status_code == 302
    assert response["Location"] == "/login/?next=/"


def test_it_renders_the_chat_page_for_a_signed_in_user(signed_in):
    response = signed_in.get("/")

    assert response.status_code == 200
    assert response["Content-Type"] == "text/html; charset=utf-8"
    page = response.content.decode()
    assert '<script type="module" src="/static/chat/app.js"></script>' in page
    config = json.loads(re.search(r'<script id="entities-config" type="application/json">(.*?)</script>', page).group(1))
    assert config == {
        "username": "alice", "threadId": None, "apiBase": "/v1", "functionsUrl": "/ui/functions",
        "historyUrl": "/ui/threads/", "wsPath": "/ws/threads/", "defaultInference": "local", "defaultModel": "demo/echo",
        "backendsUrl": "/ui/backends", "modelRoutes": [],
    }
    assert "no-store" in response["Cache-Control"]


def test_it_forbids_inline_script_with_a_content_security_policy(signed_in):
    policy = signed_in.get("/")["Content-Security-Policy"]

    assert "script-src 'self'" in policy
    assert "object-src 'none'" in policy
    assert "connect-src 'self' ws://testserver wss://testserver" in policy


def test_it_opens_a_thread_of_the_user_by_its_url(signed_in, alice):
    thread = make_thread(alice.user)

    response = signed_in.get(f"/c/{thread.id}")

    assert response.status_code == 200
    assert response.context["config"]["threadId"] == thread.id


def test_it_answers_404_for_another_users_thread(signed_in, bob):
    thread = make_thread(bob.user)

    assert signed_in.get(f"/c/{thread.id}").status_code == 404


def test_it_signs_in_with_username_and_password(alice):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    client = Client(enforce_csrf_checks=True)
    page = client.get("/login/")
    token = page.cookies["csrftoken"].value

    response = client.post("/login/", {"username": "alice", "password": PASSWORD, "csrfmiddlewaretoken": token, "next": "/"})

    assert response.status_code == 302
    assert response["Location"] == "/"
    assert client.get("/").status_code == 200


def test_it_refuses_a_wrong_password_with_the_form_again(alice):
    alice.user.set_password(PASSWORD)
    alice.user.save()

    response = Client().post("/login/", {"username": "alice", "password": "nope"})

    assert response.status_code == 200
    assert "Please enter a correct username and password" in response.content.decode()


def test_it_enforces_csrf_on_the_login_form(alice):
    alice.user.set_password(PASSWORD)
    alice.user.save()
    client = Client(enforce_csrf_checks=True)

    response = client.post("/login/", {"username": "alice", "password": PASSWORD})

    assert response.status_code == 403
    assert "_auth_user_id" not in client.session


def test_it_signs_out_on_post_only(signed_in):
    assert signed_in.get("/logout/").status_code == 405

    response = signed_in.post("/logout/")

    assert response.status_code == 302
    assert response["Location"] == "/login/"
    assert signed_in.get("/").status_code == 302


def test_it_lists_the_registered_functions_as_tool_definitions(signed_in):
    response = signed_in.get("/ui/functions")

    assert response.status_code == 200
    body = response.json()
    assert body["object"] == "list"
    names = [tool["function"]["name"] for tool in body["data"]]
    assert "get_flight_times" in names
    flight = next(tool for tool in body["data"] if tool["function"]["name"] == "get_flight_times")
    assert flight == {
        "type": "function",
        "function": {"name": "get_flight_times", "description": flight["function"]["description"],
                     "parameters": flight["function"]["parameters"]},
    }
    assert flight["function"]["parameters"]["required"] == ["departure", "arrival"]


def test_it_keeps_the_function_list_for_signed_in_users(client):
    response = client.get("/ui/functions")

    assert response.status_code == 401
    assert response.json()["error"]["code"] == "unauthenticated"


@pytest.mark.parametrize(("path", "content_type"), [
    ("/static/chat/app.js", "text/javascript"),
    ("/static/chat/app.css", "text/css"),
    ("/static/vendor/marked/marked.esm.js", "text/javascript"),
    ("/static/vendor/dompurify/purify.es.mjs", "text/javascript"),
    ("/static/vendor/highlightjs/highlight.min.js", "text/javascript"),
])
def test_it_serves_static_files_with_debug_off(client, settings, path, content_type):
    settings.DEBUG = False

    response = client.get(path)

    assert response.status_code == 200
    assert response["Content-Type"].split(";")[0] == content_type
    assert "no-cache" in response["Cache-Control"]
    assert response["Last-Modified"]
    assert int(response["Content-Length"]) == len(response.content) > 0


def test_it_answers_304_when_a_static_file_did_not_change(client, settings):
    settings.DEBUG = False
    first = client.get("/static/chat/app.css")

    again = client.get("/static/chat/app.css", HTTP_IF_MODIFIED_SINCE=first["Last-Modified"])

    assert again.status_code == 304


def test_it_serves_collected_files_from_static_root_first(client, settings, tmp_path):
    settings.DEBUG = False
    settings.STATIC_ROOT = tmp_path
    (tmp_path / "chat").mkdir()
    (tmp_path / "chat" / "app.css").write_text("/* collected */")

    response = client.get("/static/chat/app.css")

    assert response.content == b"/* collected */"


@pytest.mark.parametrize("path", ["/static/nope.js", "/static/chat/", "/static/../manage.py", "/static/%2e%2e/manage.py"])
def test_it_answers_404_for_unknown_or_escaping_static_paths(client, settings, path):
    settings.DEBUG = False

    assert client.get(path).status_code in (400, 404)


def test_backends_lists_every_configured_backend_with_its_state_and_the_routes(settings):
    from django.contrib.auth import get_user_model

    from conversations import ui_views
    from testsupport.live import free_port

    settings.OLLAMA_HOST = f"http://127.0.0.1:{free_port()}"
    settings.LOCAL_OPENAI_BASE_URL = ""
    settings.ENTITIES_MODEL_ROUTES = [("gpt-4o", "demo/echo")]
    ui_views._backends_cache = None
    assert Client().get("/ui/backends").status_code == 401
    client = Client()
    client.force_login(get_user_model().objects.create_user("kim"))
    body = client.get("/ui/backends").json()
    ui_views._backends_cache = None
    states = {b["type"]: b for b in body["data"]}
    assert set(states) == {"local", "cloud", "demo"}
    assert states["demo"]["ok"] is True and states["local"]["ok"] is False and states["local"]["error"]
    assert body["routes"] == [{"pattern": "gpt-4o", "model": "demo/echo"}]
    page = client.get("/")
    assert page.status_code == 200 and b"modelRoutes" in page.content
