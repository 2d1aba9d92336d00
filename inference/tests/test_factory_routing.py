"""Routing model names to backends, the factory's cache, and questions asked of all backends."""

from __future__ import annotations

import time

import pytest
from django.test import override_settings

from inference.backends.demo import DemoBackend
from inference.backends.ollama import OllamaBackend
from inference.backends.openai_compat import LocalOpenAICompatBackend, OpenAICompatBackend
from inference.factory import InferenceFactory, backend_for_model, backends_status, list_all_models
from inference.routing import KNOWN_TYPES, resolve_model
from inference.tests.helpers import refused_url


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("local/llama3.1", ("local", "llama3.1")),
        ("cloud/gpt-4o-mini", ("cloud", "gpt-4o-mini")),
        ("demo/echo", ("demo", "echo")),
        ("local/library/llama3.1:8b", ("local", "library/llama3.1:8b")),
        ("llama3.1", ("cloud", "llama3.1")),
        ("meta-llama/Llama-3-8B", ("cloud", "meta-llama/Llama-3-8B")),
    ],
)
def test_it_routes_by_prefix_and_sends_the_rest_to_the_default(model, expected):
    with override_settings(ENTITIES_DEFAULT_INFERENCE="cloud"):
        assert resolve_model(model) == expected


@pytest.mark.parametrize("model", ["", "   ", "local/"])
def test_it_refuses_a_missing_model_name(model):
    with pytest.raises(ValueError):
        resolve_model(model)


def test_it_caches_one_backend_per_type():
    assert InferenceFactory.get_inference("demo") is InferenceFactory.get_inference("demo")
    assert InferenceFactory.get_inference("demo") is not InferenceFactory.get_inference("cloud")


def test_reset_builds_fresh_backends():
    before = InferenceFactory.get_inference("demo")
    InferenceFactory.reset()

    assert InferenceFactory.get_inference("demo") is not before


def test_it_names_the_known_types_for_an_unknown_one():
    with pytest.raises(ValueError, match="unknown inference type 'gpu'; known types are local, cloud, demo"):
        InferenceFactory.get_inference("gpu")


def test_available_functions_go_to_the_one_registry_not_the_shared_backend():
    from inference.registry import get_function

    def factory_one():
        return 1

    def factory_two():
        return 2

    InferenceFactory.get_inference("demo", available_functions={"factory_one": factory_one})
    backend = InferenceFactory.get_inference("demo", available_functions={"factory_two": factory_two})

    assert (get_function("factory_one").func, get_function("factory_two").func) == (factory_one, factory_two)
    assert not hasattr(backend, "available_functions")


def test_local_is_ollama_unless_an_openai_compatible_url_is_set():
    with override_settings(LOCAL_OPENAI_BASE_URL=""):
        assert type(InferenceFactory.get_inference("local")) is OllamaBackend
    InferenceFactory.reset()
    with override_settings(LOCAL_OPENAI_BASE_URL="http://127.0.0.1:8001/v1"):
        assert type(InferenceFactory.get_inference("local")) is LocalOpenAICompatBackend


def test_each_type_gets_its_backend():
    assert [type(InferenceFactory.get_inference(t)) for t in KNOWN_TYPES[1:]] == [OpenAICompatBackend, DemoBackend]


def test_backend_for_model_resolves_then_builds():
    backend, name = backend_for_model("demo/tools")

    assert (backend, name) == (InferenceFactory.get_inference("demo"), "tools")


async def test_it_lists_the_models_of_every_reachable_backend(fake_ollama, fake_openai):
    with override_settings(OLLAMA_HOST=fake_ollama.url, LOCAL_OPENAI_BASE_URL="", OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY="sk-test"):
        models = await list_all_models()

    assert [m["id"] for m in models] == [
        "local/llama3.1:latest", "local/qwen2.5:7b", "cloud/fake-model", "cloud/fake-large", "demo/echo", "demo/slow", "demo/tools",
    ]


async def test_unreachable_backends_contribute_nothing_and_quickly():
    started = time.monotonic()
    with override_settings(OLLAMA_HOST=refused_url(), LOCAL_OPENAI_BASE_URL="", OPENAI_API_KEY=""):
        models = await list_all_models()

    assert [m["id"] for m in models] == ["demo/echo", "demo/slow", "demo/tools"]
    assert time.monotonic() - started < 2


async def test_status_says_which_backends_answer_and_why_not(fake_openai):
    ollama = refused_url()
    with override_settings(OLLAMA_HOST=ollama, LOCAL_OPENAI_BASE_URL="", OPENAI_BASE_URL=fake_openai.url, OPENAI_API_KEY="sk-test"):
        status = await backends_status()

    assert status == {
        "local": {
            "ok": False, "models": 0, "type": "local", "url": ollama, "protocol": "ollama",
            "error": f"no model server answered at {ollama} — start Ollama (`ollama serve`) or set OLLAMA_HOST",
        },
        "cloud": {"ok": True, "models": 2, "error": None, "type": "cloud", "url": fake_openai.url, "protocol": "openai", "api_key_set": True},
        "demo": {"ok": True, "models": 3, "error": None, "type": "demo", "url": None, "protocol": "demo"},
    }


@pytest.mark.parametrize(
    ("model", "expected"),
    [
        ("gpt-4o", ("demo", "echo")),
        ("gpt-4o-mini", ("demo", "echo")),
        ("o1-preview", ("cloud", "o1-preview")),
        ("llama3.1", ("local", "llama3.1")),
        ("cloud/gpt-4o", ("cloud", "gpt-4o")),
    ],
)
def test_it_routes_names_kept_from_openai_by_the_configured_patterns(model, expected):
    routes = "gpt-4o*=demo/echo, o1*=cloud"
    from inference.routing import parse_model_routes

    with override_settings(ENTITIES_DEFAULT_INFERENCE="local", ENTITIES_MODEL_ROUTES=parse_model_routes(routes)):
        assert resolve_model(model) == expected


@pytest.mark.parametrize("value", ["gpt-*", "gpt-*=gpu", "=cloud", "gpt-*=local/"])
def test_it_refuses_a_route_it_cannot_follow(value):
    from inference.routing import parse_model_routes

    with pytest.raises(ValueError, match="ENTITIES_MODEL_ROUTES"):
        parse_model_routes(value)
