"""Writes of assistants. Input is already validated (see assistants.validation)."""

from __future__ import annotations

from asgiref.sync import async_to_sync
from django.contrib.auth import get_user_model
from django.db import transaction

from assistants.models import Assistant
from files.references import check_references, tool_resource_refs
from retrieval.services.resources import file_search_resources

ASSISTANT_FIELDS = (
    "model", "name", "description", "instructions", "tools", "tool_resources", "metadata",
    "temperature", "top_p", "response_format", "reasoning_effort",
)


def tool_resources_resolve(*, user, tool_resources: dict | None, path: str = "tool_resources") -> dict | None:
    """The stored form of validated ``tool_resources`` (an assistant's or a thread's): every
    file id checked to be the user's live file, ``file_search`` reduced to the
    user's own ``vector_store_ids`` (the ``vector_stores`` helper creates its store here).
    400 naming the param otherwise. Call it inside the transaction that stores the result."""
    if tool_resources is None:
        return None
    check_references(owner_id=user.pk, refs=[*tool_resource_refs(tool_resources, path),
                                             *_store_helper_refs(tool_resources, f"{path}.file_search")])
    resolved = dict(tool_resources)
    if tool_resources.get("file_search") is not None:
        resolved["file_search"] = file_search_resources(user=user, file_search=tool_resources["file_search"],
                                                        path=f"{path}.file_search")
    return resolved


def _store_helper_refs(tool_resources: dict, path: str) -> list[tuple[str, str]]:
    """The file ids of ``file_search.vector_stores[i].file_ids``, each with its param."""
    stores = (tool_resources.get("file_search") or {}).get("vector_stores") or []
    return [(file_id, f"{path}.vector_stores[{i}].file_ids[{j}]")
            for i, store in enumerate(stores) for j, file_id in enumerate(store.get("file_ids") or [])]


@transaction.atomic
def assistant_create(*, user, model: str, **fields) -> Assistant:
    """Create an assistant owned by ``user`` (stores asked for with ``vector_stores`` with it)."""
    unknown = set(fields) - set(ASSISTANT_FIELDS)
    if unknown:
        raise TypeError(f"unknown assistant fields: {sorted(unknown)}")
    values = {k: v for k, v in fields.items() if v is not None}
    if "tool_resources" in values:
        values["tool_resources"] = tool_resources_resolve(user=user, tool_resources=values["tool_resources"])
    return Assistant.objects.create(owner=user, model=model, **values)


@transaction.atomic
def assistant_update(*, assistant: Assistant, **fields) -> Assistant:
    """Change the given fields only (an explicit None clears a nullable field)."""
    if fields.get("tool_resources") is not None:
        fields["tool_resources"] = tool_resources_resolve(user=assistant.owner, tool_resources=fields["tool_resources"])
    for name, value in fields.items():
        if name not in ASSISTANT_FIELDS:
            raise TypeError(f"unknown assistant field: {name}")
        if name in ("tools", "tool_resources", "metadata") and value is None:
            value = [] if name == "tools" else {}
        if name == "response_format" and value is None:
            value = "auto"
        setattr(assistant, name, value)
    if fields:
        assistant.save(update_fields=list(fields))
    return assistant


@transaction.atomic
def assistant_delete(*, assistant: Assistant) -> None:
    """Delete the assistant; its past runs and messages keep its id, as on OpenAI."""
    assistant.delete()


DEFAULT_ASSISTANT_NAME = "Assistant"
DEFAULT_INSTRUCTIONS = "You are a helpful assistant. Answer clearly and concisely."
# Best first: a local model keeps the conversation on this machine, then a cloud one; the
# demo backend (canned replies) always answers.
BACKEND_PREFERENCE = ("local", "cloud")


def best_reachable_model(models: list[dict], preferred: str | None = None) -> str:
    """The model a ready-made assistant should use, from ``models`` (GET /v1/models' data):
    ``preferred`` when it is listed, else the first local model, else the first cloud one,
    else ``demo/echo``."""
    ids = [m.get("id") for m in models if isinstance(m.get("id"), str)]
    if preferred and preferred in ids and not preferred.startswith("demo/"):
        return preferred
    for backend in BACKEND_PREFERENCE:
        for model_id in ids:
            if model_id.startswith(f"{backend}/"):
                return model_id
    return "demo/echo"


def assistant_ensure_default(*, user) -> Assistant | None:
    """A user without assistants gets a ready one on the best reachable backend (the demo
    otherwise), so the first chat works at once. Returns it, or None when they had one."""
    from django.conf import settings

    from inference.factory import list_all_models

    if Assistant.objects.filter(owner=user).exists():
        return None
    models = async_to_sync(list_all_models)()  # each backend bounded by LIST_ALL_TIMEOUT
    model = best_reachable_model(models, settings.ENTITIES_DEFAULT_MODEL)
    with transaction.atomic():
        get_user_model().objects.select_for_update().filter(pk=user.pk).first()  # two first tabs make one
        if Assistant.objects.filter(owner=user).exists():
            return None
        return Assistant.objects.create(owner=user, model=model, name=DEFAULT_ASSISTANT_NAME,
                                        instructions=DEFAULT_INSTRUCTIONS, metadata={"entities_default": "true"})
