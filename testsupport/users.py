"""Three users for every test that needs owners: alice, bob and charlie, each with an API key."""

from __future__ import annotations

from dataclasses import dataclass

import pytest

from assistants.keys import api_key_create, user_get_or_create


@dataclass
class Person:
    user: object
    api_key: str

    @property
    def headers(self) -> dict:
        return {"Authorization": f"Bearer {self.api_key}", "OpenAI-Beta": "assistants=v2"}


def make_person(username: str) -> Person:
    user, _ = user_get_or_create(username=username)
    return Person(user=user, api_key=api_key_create(user=user, name=f"{username}-key").raw)


@pytest.fixture
def alice(db) -> Person:
    return make_person("alice")


@pytest.fixture
def bob(db) -> Person:
    return make_person("bob")


@pytest.fixture
def charlie(db) -> Person:
    return make_person("charlie")
