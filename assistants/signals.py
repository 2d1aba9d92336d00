"""Drop cached API-key authentications when a key or its owner changes in this process."""

from __future__ import annotations

from django.contrib.auth import get_user_model
from django.db.models.signals import post_delete, post_save

from assistants.keys import recent_keys
from assistants.models import ApiKey


def _key_changed(sender, instance: ApiKey, **kwargs) -> None:
    recent_keys.forget(key_pk=instance.pk)


def _user_changed(sender, instance, **kwargs) -> None:
    recent_keys.forget(owner_pk=instance.pk)


def connect() -> None:
    User = get_user_model()
    for signal in (post_save, post_delete):
        signal.connect(_key_changed, sender=ApiKey, dispatch_uid=f"entities-key-{signal is post_save}")
        signal.connect(_user_changed, sender=User, dispatch_uid=f"entities-user-{signal is post_save}")
