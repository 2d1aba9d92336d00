"""Conversations made through the Responses API are threads: the chat UI and the admin show them."""

from __future__ import annotations

from django.contrib.admin.utils import quote
from django.urls import reverse

from conversations.models import Run
from testsupport.fixtures import *  # noqa: F401,F403 - fake_openai
from testsupport.scenarios import Reply
from testsupport.sse import cloud  # noqa: F401 - a fixture


def test_the_chat_ui_and_the_admin_show_a_responses_conversation(sdk, cloud, client, alice, django_user_model):
    cloud.push(Reply(["Hello ", "there"]))
    conversation = sdk.conversations.create()
    response = sdk.responses.create(model="cloud/x", input="Hi!", conversation=conversation.id)
    thread_id = "thread_" + conversation.id.removeprefix("conv_")

    client.force_login(alice.user)
    history = client.get(reverse("ui-thread-history", args=[thread_id])).json()
    [user, run] = history["items"]
    assert user["message"]["content"][0]["text"]["value"] == "Hi!"
    assert run["messages"][0]["content"][0]["text"]["value"] == "Hello there"
    assert client.get(reverse("chat-thread", args=[thread_id])).status_code == 200

    admin = django_user_model.objects.create_superuser("root", "root@example.com", "pw")
    client.force_login(admin)
    run_id = Run.objects.get(responses__id=response.id).pk
    page = client.get(reverse("admin:conversations_run_change", args=[quote(run_id)]))
    assert page.status_code == 200 and b"Responses API" in page.content
    listing = client.get(reverse("admin:responses_api_response_changelist"))
    assert listing.status_code == 200 and response.id.encode() in listing.content
