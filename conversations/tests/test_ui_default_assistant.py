"""The first visit's ready-made assistant (assistants.services.assistant_ensure_default): on the
best reachable backend — a real Ollama over loopback when one answers, the demo otherwise —
made once, and never when the user has assistants already."""

from __future__ import annotations

import pytest
from django.test import Client, override_settings

from assistants.services import best_reachable_model
from conversations.tests.engine_support import *  # noqa: F401,F403 — fake_ollama, ollama
from inference.factory import InferenceFactory
from testsupport.factories import make_assistant, make_user
from testsupport.live import free_port

pytestmark = pytest.mark.django_db


def visit(user) -> Client:
    client = Client()
    client.force_login(user)
    assert client.get("/").status_code == 200
    return client


def test_a_first_visit_with_ollama_answering_gets_an_assistant_on_its_model(ollama):
    user = make_user("gina")
    visit(user)
    assistant = user.assistants.get()
    assert (assistant.name, assistant.model, assistant.tools) == ("Assistant", "local/llama3.1:latest", [])


def test_without_a_model_server_it_is_the_demo_and_it_is_made_once(settings):
    with override_settings(OLLAMA_HOST=f"http://127.0.0.1:{free_port()}", LOCAL_OPENAI_BASE_URL="", OPENAI_API_KEY=""):
        InferenceFactory.reset()
        user = make_user("hugo")
        client = visit(user)
        client.get("/")
        visit(user)  # another session: the user has one now
    InferenceFactory.reset()
    assert [a.model for a in user.assistants.all()] == ["demo/echo"]


def test_a_user_with_assistants_gets_none_added():
    user = make_user("ivy")
    make_assistant(user, name="Mine", model="demo/echo")
    visit(user)
    assert [a.name for a in user.assistants.all()] == ["Mine"]


def test_the_preference_is_the_configured_model_then_local_then_cloud_then_the_demo():
    models = [{"id": "demo/echo"}, {"id": "cloud/gpt-4o-mini"}, {"id": "local/qwen2.5:7b"}]
    assert best_reachable_model(models, "cloud/gpt-4o-mini") == "cloud/gpt-4o-mini"
    assert best_reachable_model(models, "local/absent") == "local/qwen2.5:7b"
    assert best_reachable_model(models[:2], None) == "cloud/gpt-4o-mini"
    assert best_reachable_model([{"id": "demo/echo"}], "demo/slow") == "demo/echo"
