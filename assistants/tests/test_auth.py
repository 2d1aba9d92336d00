"""Authentication on /v1: API keys (stored hashed) and JWTs, both as `Authorization: Bearer`."""

from __future__ import annotations

import time
from io import StringIO

import httpx
import openai
import pytest
from django.apps import apps
from django.core.management import call_command
from django.test import override_settings
from django.utils import timezone

from assistants.keys import api_key_authenticate, api_key_create, api_key_revoke, recent_keys
from assistants.models import ApiKey
from testsupport.live import sdk_for
from testsupport.users import Person


def assert_401(response: httpx.Response) -> dict:
    assert response.status_code == 401
    assert response.headers["content-type"].startswith("application/json")
    error = response.json()["error"]
    assert set(error) == {"message", "type", "param", "code"}
    return error


@pytest.mark.parametrize("method", ["GET", "POST"])
def test_it_answers_401_without_credentials(live_entities, method):
    response = httpx.request(method, f"{live_entities.v1}/assistants", json={"model": "demo/echo"},
                             headers={"OpenAI-Beta": "assistants=v2"})

    error = assert_401(response)
    assert error["code"] == "invalid_api_key"
    assert "Authorization: Bearer" in error["message"]


@pytest.mark.parametrize("header", ["Bearer ent-000000000000-not-a-real-key", "Bearer not.a.jwt", "Basic YTpi", "Bearer"])
def test_it_answers_401_for_bad_credentials(live_entities, header):
    response = httpx.get(f"{live_entities.v1}/threads", headers={"Authorization": header})

    assert_401(response)


def test_the_sdk_raises_authentication_error_for_a_wrong_key(live_entities):
    client = openai.OpenAI(base_url=live_entities.v1, api_key="ent-123456789abc-wrong", max_retries=0)

    with pytest.raises(openai.AuthenticationError) as caught:
        client.beta.assistants.list()

    assert caught.value.status_code == 401
    client.close()


def test_it_answers_401_for_a_revoked_key(live_entities, alice):
    assert httpx.get(f"{live_entities.v1}/assistants", headers=alice.headers).status_code == 200
    key = ApiKey.objects.get(owner=alice.user)

    api_key_revoke(key=key)

    error = assert_401(httpx.get(f"{live_entities.v1}/assistants", headers=alice.headers))
    assert "revoked" in error["message"]


# --- the short per-process cache of authenticated keys -------------------------------------

def test_a_key_used_again_is_not_looked_up_again(alice, django_assert_num_queries):
    recent_keys.clear()
    first = api_key_authenticate(alice.api_key)

    with django_assert_num_queries(0):
        again = api_key_authenticate(alice.api_key)

    assert again is not None and (again.pk, again.owner.pk) == (first.pk, alice.user.pk)
    assert again.owner is not first.owner  # each request gets its own copy


def test_a_deactivated_owner_is_refused_at_once(live_entities, alice):
    assert httpx.get(f"{live_entities.v1}/assistants", headers=alice.headers).status_code == 200

    alice.user.is_active = False
    alice.user.save(update_fields=["is_active"])

    assert_401(httpx.get(f"{live_entities.v1}/assistants", headers=alice.headers))


def test_a_revocation_made_elsewhere_is_honoured_within_the_cache_time(alice):
    recent_keys.clear()
    with override_settings(ENTITIES_API_KEY_CACHE_SECONDS=0.3):
        assert api_key_authenticate(alice.api_key) is not None
        # Another process revokes it: this process's cache does not hear of it.
        ApiKey.objects.filter(owner=alice.user).update(revoked_at=timezone.now())
        still_cached = api_key_authenticate(alice.api_key)
        time.sleep(0.35)
        after_ttl = api_key_authenticate(alice.api_key)

    assert still_cached is not None
    assert after_ttl is None


def test_a_wrong_secret_with_a_cached_prefix_is_refused(alice):
    recent_keys.clear()
    assert api_key_authenticate(alice.api_key) is not None

    assert api_key_authenticate(alice.api_key[:-2] + "zz") is None


def test_a_jwt_from_the_token_endpoint_works_on_v1(live_entities, alice):
    alice.user.set_password("correct horse battery")
    alice.user.save()
    tokens = httpx.post(f"{live_entities.url}/api/token/",
                        json={"username": "alice", "password": "correct horse battery"}).json()

    client = openai.OpenAI(base_url=live_entities.v1, api_key=tokens["access"], max_retries=0)
    created = client.beta.assistants.create(model="demo/echo", name="via JWT")

    with_key = sdk_for(live_entities, alice)
    assert with_key.beta.assistants.retrieve(created.id).name == "via JWT"
    client.close()
    with_key.close()


def test_a_wrong_password_gets_no_token(live_entities, alice):
    alice.user.set_password("right")
    alice.user.save()

    response = httpx.post(f"{live_entities.url}/api/token/", json={"username": "alice", "password": "wrong"})

    assert response.status_code == 401
    assert "access" not in response.json()


def _every_stored_text() -> str:
    """Every value of every row of every model, as text."""
    chunks = []
    for model in apps.get_models():
        for row in model.objects.all().values_list(*[f.attname for f in model._meta.concrete_fields]):
            chunks.extend(str(value) for value in row)
    return "\n".join(chunks)


def test_the_raw_key_is_never_stored(live_entities, alice):
    made = api_key_create(user=alice.user, name="scan")
    httpx.get(f"{live_entities.v1}/assistants", headers={"Authorization": f"Bearer {made.raw}"})
    secret = made.raw.split("-", 2)[2]  # ent-<prefix>-<secret>; the secret itself may contain "-"

    stored = _every_stored_text()

    assert made.raw not in stored
    assert alice.api_key not in stored
    assert secret not in stored
    assert made.key.prefix in stored  # the visible prefix is kept, for recognising the key


def test_create_api_key_prints_a_working_key_last(live_entities):
    out = StringIO()

    call_command("create_api_key", "carol", "--name", "ci", stdout=out)

    raw = out.getvalue().strip().splitlines()[-1]
    assert raw.startswith("ent-")
    assert ApiKey.objects.get(owner__username="carol").name == "ci"
    carol = sdk_for(live_entities, Person(user=None, api_key=raw))
    assert carol.beta.assistants.create(model="demo/echo").model == "demo/echo"
    carol.close()
