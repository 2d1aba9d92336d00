"""Security basics: hashed keys compared in constant time, errors that leak nothing, CSRF on
the forms, secure cookies and headers over HTTPS, and `check --deploy` clean in production.

(SECRET_KEY being required with DEBUG off is entities_project/tests/test_settings.py's.)
"""

from __future__ import annotations

import hashlib
import hmac
import json
import os
import re
import subprocess
import sys

import httpx
import pytest
from django.conf import settings
from django.contrib.auth import get_user_model
from django.test import Client, override_settings

import assistants.keys
from assistants.keys import api_key_authenticate, api_key_create
from assistants.models import ApiKey

BASE_DIR = settings.BASE_DIR
# The documented production settings (docs/security.md): `check --deploy` must be clean with them.
PRODUCTION_ENV = {
    "DEBUG": "0", "SECRET_KEY": "p" * 20 + "roduction-secret-key-with-enough-entropy-0123456789",
    "SECURE_SSL_REDIRECT": "1", "SESSION_COOKIE_SECURE": "1", "CSRF_COOKIE_SECURE": "1",
    "SECURE_HSTS_SECONDS": "31536000", "ENTITIES_BEHIND_HTTPS_PROXY": "1",
}
GENERIC_500 = {"error": {"message": "The server had an error while processing your request.", "type": "server_error",
                         "param": None, "code": "server_error"}}
# What a TLS-terminating proxy forwards (the Host header too: Django's HTTPS referer check compares it).
HTTPS = {"HTTP_X_FORWARDED_PROTO": "https", "HTTP_HOST": "testserver", "HTTP_REFERER": "https://testserver/login/"}


def _leaks(text: str) -> list[str]:
    """What an error body must never show: a traceback, the secret, source paths, settings."""
    found = [marker for marker in ("Traceback", "RuntimeError", settings.SECRET_KEY, str(BASE_DIR), "SECRET_KEY",
                                   "DATABASES", "urlpatterns", "Using the URLconf") if marker in text]
    return found + re.findall(r"\w+\.py\b", text)


def _manage(*args: str, env: dict) -> subprocess.CompletedProcess:
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "SESSION_", "CSRF_"))}
    return subprocess.run([sys.executable, "manage.py", *args], cwd=BASE_DIR, env={**clean, **env}, capture_output=True,
                          text=True, timeout=120)


# --- API keys ----------------------------------------------------------------------------------

def test_only_the_sha256_digest_of_a_key_is_stored(db, alice):
    made = api_key_create(user=alice.user, name="digest")
    row = ApiKey.objects.filter(pk=made.key.pk).values().get()

    assert row["digest"] == hashlib.sha256(made.raw.encode()).hexdigest()
    assert made.raw.startswith(f"ent-{row['prefix']}-")
    assert [name for name, value in row.items() if isinstance(value, str) and made.raw[len("ent-") + 13:] in value] == []


def test_a_key_is_found_by_its_prefix_and_compared_with_compare_digest(db, alice, monkeypatch):
    made = api_key_create(user=alice.user, name="timing")
    compared: list[tuple[str, str]] = []
    original = hmac.compare_digest

    def spy(a, b):
        compared.append((a, b))
        return original(a, b)

    monkeypatch.setattr(assistants.keys.hmac, "compare_digest", spy)
    wrong = made.raw[:-4] + ("AAAA" if not made.raw.endswith("AAAA") else "BBBB")

    assert api_key_authenticate(made.raw).pk == made.key.pk
    assert api_key_authenticate(wrong) is None
    assert api_key_authenticate(f"ent-{'0' * 12}-unknown") is None  # no such prefix: nothing to compare
    assert compared == [(made.key.digest, made.key.digest), (made.key.digest, hashlib.sha256(wrong.encode()).hexdigest())]


def test_a_wrong_secret_with_a_real_prefix_gets_the_401_envelope(live_entities, alice):
    prefix = ApiKey.objects.get(owner=alice.user).prefix
    response = httpx.get(f"{live_entities.v1}/assistants", headers={"Authorization": f"Bearer ent-{prefix}-guess"})

    assert (response.status_code, response.json()) == (401, {"error": {
        "message": "Incorrect or revoked API key provided.", "type": "invalid_request_error", "param": None,
        "code": "invalid_api_key"}})


# --- errors leak nothing ---------------------------------------------------------------------

def _explode(*args, **kwargs):
    raise RuntimeError(f"boom: {settings.SECRET_KEY} in {BASE_DIR}/conversations/selectors.py")


@pytest.mark.parametrize("module, path", [
    ("conversations.api.threads", "/v1/threads/thread_x"),
    ("conversations.api.runs", "/v1/threads/thread_x/runs"),
    ("conversations.sse_views", "/v1/threads/thread_x/runs/run_x/events"),
])
def test_a_crash_in_an_api_view_answers_the_bare_500_envelope(live_entities, alice, monkeypatch, module, path):
    assert settings.DEBUG is False
    monkeypatch.setattr(f"{module}.thread_get_for_user", _explode)

    response = httpx.get(live_entities.url + path, headers=alice.headers)

    assert (response.status_code, response.json()) == (500, GENERIC_500)
    assert response.headers["x-should-retry"] == "false"
    assert _leaks(response.text) == []


def test_a_crash_in_the_seed_route_answers_the_bare_500_envelope(live_entities, alice, monkeypatch):
    monkeypatch.setattr("conversations.seed_route.seed_turn_start", _explode)

    response = httpx.post(f"{live_entities.url}/api/messages/process", headers=alice.headers,
                          json={"messages": [{"role": "user", "content": "hi"}], "inferenceType": "demo"})

    assert (response.status_code, response.json()) == (500, GENERIC_500)
    assert _leaks(response.text) == []


def test_html_error_pages_outside_the_api_leak_nothing(live_entities, bob, monkeypatch):
    session = Client()
    session.force_login(bob.user)
    cookies = {"sessionid": session.cookies["sessionid"].value}
    monkeypatch.setattr("conversations.ui_views.thread_get_for_user", _explode)

    missing = httpx.get(f"{live_entities.url}/no/such/page")
    crashed = httpx.get(f"{live_entities.url}/c/thread_x", cookies=cookies)

    assert (missing.status_code, crashed.status_code) == (404, 500)
    assert missing.headers["content-type"].startswith("text/html")
    assert _leaks(missing.text) == [] and _leaks(crashed.text) == []
    assert "bob" not in crashed.text and len(crashed.text) < 2000


def test_unknown_api_paths_answer_the_404_envelope(live_entities, alice):
    response = httpx.get(f"{live_entities.v1}/no/such/thing", headers=alice.headers)

    assert (response.status_code, response.json()) == (404, {"error": {
        "message": "Unknown path /v1/no/such/thing.", "type": "invalid_request_error", "param": None,
        "code": "unknown_url"}})


# --- CSRF, cookies, headers ------------------------------------------------------------------

@pytest.fixture
def carol(db):
    return get_user_model().objects.create_user(username="carol", password="a long test password")


def _login_form_token(client: Client, **extra) -> str:
    page = client.get("/login/", **extra)
    assert page.status_code == 200
    return re.search(r'name="csrfmiddlewaretoken" value="([^"]+)"', page.content.decode())[1]


def test_the_login_form_refuses_a_post_without_its_csrf_token(carol):
    client = Client(enforce_csrf_checks=True)
    token = _login_form_token(client)

    forged = client.post("/login/", {"username": "carol", "password": "a long test password"})
    genuine = client.post("/login/", {"username": "carol", "password": "a long test password",
                                      "csrfmiddlewaretoken": token})

    assert forged.status_code == 403
    assert (genuine.status_code, genuine["Location"]) == (302, settings.LOGIN_REDIRECT_URL)


def test_signing_out_needs_a_csrf_token_too(carol):
    client = Client(enforce_csrf_checks=True)
    client.force_login(carol)

    assert client.post("/logout/").status_code == 403
    assert "_auth_user_id" in client.session


def test_a_session_cannot_write_through_the_api_without_csrf(carol):
    client = Client(enforce_csrf_checks=True)
    client.post("/login/", {"username": "carol", "password": "a long test password",
                            "csrfmiddlewaretoken": _login_form_token(client)})
    token = client.cookies["csrftoken"].value  # rotated at sign-in

    forged = client.post("/v1/threads", {}, content_type="application/json")
    genuine = client.post("/v1/threads", {}, content_type="application/json", HTTP_X_CSRFTOKEN=token)

    assert (forged.status_code, forged.json()["error"]["code"]) == (403, "csrf_failed")
    assert genuine.status_code == 200


@override_settings(SESSION_COOKIE_SECURE=True, CSRF_COOKIE_SECURE=True,
                   SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"))
def test_session_and_csrf_cookies_are_secure_over_https(carol):
    client = Client(enforce_csrf_checks=True)
    token = _login_form_token(client, **HTTPS)
    signed_in = client.post("/login/", {"username": "carol", "password": "a long test password",
                                        "csrfmiddlewaretoken": token}, **HTTPS)

    session, csrf = signed_in.cookies["sessionid"], client.cookies["csrftoken"]
    assert signed_in.status_code == 302
    assert (session["secure"], session["httponly"], session["samesite"]) == (True, True, "Lax")
    assert (csrf["secure"], csrf["samesite"]) == (True, "Lax")


@override_settings(SECURE_SSL_REDIRECT=True, SECURE_PROXY_SSL_HEADER=("HTTP_X_FORWARDED_PROTO", "https"),
                   SECURE_HSTS_SECONDS=31536000, SECURE_HSTS_INCLUDE_SUBDOMAINS=True, SECURE_HSTS_PRELOAD=True)
def test_behind_an_https_proxy_plain_http_is_redirected_and_https_gets_hsts(db):
    client = Client()

    plain = client.get("/login/")
    proxied = client.get("/login/", HTTP_X_FORWARDED_PROTO="https")

    assert (plain.status_code, plain["Location"]) == (301, "https://testserver/login/")
    assert proxied.status_code == 200
    assert proxied["Strict-Transport-Security"] == "max-age=31536000; includeSubDomains; preload"


@pytest.mark.parametrize("path", ["/login/", "/v1/assistants", "/api/messages/process", "/healthz"])
def test_every_response_carries_the_security_headers(db, path):
    response = Client().get(path)

    assert {name: response.get(name) for name in ("X-Content-Type-Options", "Referrer-Policy", "X-Frame-Options",
                                                   "Cross-Origin-Opener-Policy")} == {
        "X-Content-Type-Options": "nosniff", "Referrer-Policy": "same-origin", "X-Frame-Options": "DENY",
        "Cross-Origin-Opener-Policy": "same-origin"}


# --- production settings -------------------------------------------------------------------

@pytest.mark.slow
def test_check_deploy_is_clean_with_the_documented_production_settings():
    done = _manage("check", "--deploy", "--fail-level", "WARNING", env=PRODUCTION_ENV)

    assert (done.returncode, done.stdout.strip()) == (0, "System check identified no issues (0 silenced)."), done.stderr


@pytest.mark.slow
def test_check_deploy_warns_without_them():
    done = _manage("check", "--deploy", "--fail-level", "WARNING", env={"DEBUG": "0",
                                                                         "SECRET_KEY": PRODUCTION_ENV["SECRET_KEY"]})

    assert done.returncode != 0
    assert {"security.W004", "security.W008", "security.W012", "security.W016"} <= set(
        re.findall(r"security\.W\d+", done.stderr + done.stdout))


@pytest.mark.slow
def test_the_production_environment_turns_on_every_https_setting():
    code = ("import json, django; django.setup(); from django.conf import settings as s; print(json.dumps(["
            "s.DEBUG, s.SECURE_PROXY_SSL_HEADER, s.SECURE_SSL_REDIRECT, s.SESSION_COOKIE_SECURE, s.CSRF_COOKIE_SECURE,"
            "s.SECURE_HSTS_SECONDS, s.SECURE_HSTS_INCLUDE_SUBDOMAINS, s.SESSION_COOKIE_HTTPONLY]))")
    clean = {k: v for k, v in os.environ.items() if not k.startswith(("SECURE_", "SESSION_", "CSRF_"))}
    done = subprocess.run([sys.executable, "-c", code], cwd=BASE_DIR, capture_output=True, text=True, timeout=60,
                          env={**clean, **PRODUCTION_ENV, "DJANGO_SETTINGS_MODULE": "entities_project.settings"})

    assert json.loads(done.stdout) == [False, ["HTTP_X_FORWARDED_PROTO", "https"], True, True, True, 31536000, True,
                                       True], done.stderr
