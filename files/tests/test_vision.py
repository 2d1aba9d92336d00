"""Images reach models that see them, in each backend's format, over real HTTP to the fakes.

Ollama gets base64 ``images`` when /api/show lists "vision"; an OpenAI-compatible server
gets ``image_url`` parts (a data: URL for a stored file, the client's URL as given) when
ENTITIES_VISION_MODELS names the model; a text-only model gets the placeholder.
"""

from __future__ import annotations

import base64

import pytest

from conversations.tests.engine_support import *  # noqa: F401,F403 - cloud, ollama
from inference.backends import ollama_vision
from inference.vision import PLACEHOLDER

pytestmark = pytest.mark.filterwarnings("ignore::DeprecationWarning")

PNG = base64.b64decode("iVBORw0KGgoAAAANSUhEUgAAAAEAAAABCAYAAAAfFcSJAAAADUlEQVR42mP8z8BQDwAEhQGAhKmMIQAAAABJRU5ErkJggg==")
REMOTE = "https://example.com/cat.png"


@pytest.fixture(autouse=True)
def _fresh_capabilities():
    ollama_vision._capabilities.clear()
    yield
    ollama_vision._capabilities.clear()


def _run(sdk, model: str, content) -> None:
    assistant = sdk.beta.assistants.create(model=model)
    thread = sdk.beta.threads.create(messages=[{"role": "user", "content": content}])
    run = sdk.beta.threads.runs.create_and_poll(thread_id=thread.id, assistant_id=assistant.id, poll_interval_ms=20)
    assert run.status == "completed", run.last_error


def _chats(fake) -> list[dict]:
    """The chat request bodies (the Ollama fake also records /api/show bodies)."""
    return [body for body in fake.requests if "messages" in body]


def _image_message(sdk):
    image = sdk.files.create(file=("dot.png", PNG), purpose="vision")
    return [{"type": "text", "text": "What is this?"},
            {"type": "image_file", "image_file": {"file_id": image.id, "detail": "low"}},
            {"type": "image_url", "image_url": {"url": REMOTE}}]


def test_ollama_gets_base64_images_when_the_model_reports_vision(sdk, ollama):
    ollama.vision_models = {"llava:7b"}

    _run(sdk, "local/llava:7b", _image_message(sdk))

    assert {"model": "llava:7b"} in ollama.requests  # it asked /api/show
    (message,) = _chats(ollama)[0]["messages"]
    assert message["images"] == [base64.b64encode(PNG).decode()]
    assert message["content"] == "What is this?" + ollama_vision.REMOTE_IMAGE_NOTE  # never fetched


def test_ollama_text_model_gets_the_placeholder(sdk, ollama):
    _run(sdk, "local/llama3.1", _image_message(sdk))

    (message,) = _chats(ollama)[0]["messages"]
    assert "images" not in message and message["content"] == "What is this?" + PLACEHOLDER * 2


def test_openai_compatible_server_gets_image_url_parts_for_a_vision_model(sdk, cloud, settings):
    settings.ENTITIES_VISION_MODELS = ["fake-*"]

    _run(sdk, "cloud/fake-model", _image_message(sdk))

    (message,) = cloud.requests[0]["messages"]
    assert message["content"] == [
        {"type": "text", "text": "What is this?"},
        {"type": "image_url", "image_url": {"url": "data:image/png;base64," + base64.b64encode(PNG).decode(),
                                            "detail": "low"}},
        {"type": "image_url", "image_url": {"url": REMOTE, "detail": "auto"}},
    ]


def test_openai_compatible_text_model_gets_the_placeholder(sdk, cloud):
    _run(sdk, "cloud/fake-model", _image_message(sdk))

    assert cloud.requests[0]["messages"] == [{"role": "user", "content": "What is this?" + PLACEHOLDER * 2}]
