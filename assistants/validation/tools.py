"""Tools, tool choice, response format, truncation and tool resources."""

from __future__ import annotations

from typing import Any

from kernel.errors import InvalidRequest
from kernel.validation import fields as f
from retrieval import validation as store_rules

REASONING_EFFORTS = ("none", "minimal", "low", "medium", "high", "xhigh", "max")
TOOL_TYPES = ("code_interpreter", "file_search", "function")
MAX_CODE_FILES = 20
MAX_STORE_FILES = 10_000  # OpenAI's cap on `vector_stores[i].file_ids`
# Entities extension on a function tool: run the server's registered function of this name
# (docs/tools.md). Without it a declared function is the client's, whatever its name.
SERVER_SIDE = "server_side"


def tools(value: Any, path: str, *, max_items: int) -> list[dict] | None:
    """A list of tool definitions; ``None`` stays None (the caller decides what null means)."""
    items = f.array(value, path, max_items=max_items, nullable=True)
    if items is None:
        return None
    return [tool(item, f.join(path, i)) for i, item in enumerate(items)]


def tool(value: Any, path: str) -> dict:
    """One tool definition (`file_search` with its `max_num_results` and `ranking_options`)."""
    if not isinstance(value, dict):
        raise f.invalid_type(path, "an object", value)
    kind = f.string(value.get("type"), f.join(path, "type"), choices=TOOL_TYPES)
    if kind == "code_interpreter":
        f.obj(value, path, allowed=("type",))
        return {"type": "code_interpreter"}
    if kind == "file_search":
        f.obj(value, path, allowed=("type", "file_search"))
        cleaned: dict = {"type": "file_search"}
        if value.get("file_search") is not None:
            cleaned["file_search"] = _file_search_options(value["file_search"], f.join(path, "file_search"))
        return cleaned
    f.obj(value, path, allowed=("type", "function", SERVER_SIDE), required=("function",))
    cleaned = {"type": "function", "function": function(value["function"], f.join(path, "function"))}
    if f.boolean(value.get(SERVER_SIDE), f.join(path, SERVER_SIDE), nullable=True):
        _registered(cleaned["function"]["name"], f.join(path, SERVER_SIDE))
        cleaned[SERVER_SIDE] = True
    return cleaned


def _registered(name: str, path: str) -> None:
    from inference.registry import get_function

    if get_function(name) is None:
        raise f.invalid_value(path, f"there is no server function named '{name}' (GET /ui/functions lists them); "
                                    "leave 'server_side' out to answer the calls yourself.")


def _file_search_options(value: Any, path: str) -> dict:
    f.obj(value, path, allowed=("max_num_results", "ranking_options"))
    cleaned: dict = {}
    if value.get("max_num_results") is not None:
        cleaned["max_num_results"] = f.integer(value["max_num_results"], f.join(path, "max_num_results"),
                                               minimum=1, maximum=50)
    if value.get("ranking_options") is not None:
        options = f.obj(value["ranking_options"], f.join(path, "ranking_options"),
                        allowed=("ranker", "score_threshold"), required=("score_threshold",))
        f.number(options["score_threshold"], f.join(path, "ranking_options.score_threshold"), minimum=0, maximum=1)
        cleaned["ranking_options"] = dict(options)
    return cleaned


def function(value: Any, path: str) -> dict:
    f.obj(value, path, allowed=("name", "description", "parameters", "strict"), required=("name",))
    cleaned: dict = {"name": f.name_string(value["name"], f.join(path, "name"))}
    if value.get("description") is not None:
        cleaned["description"] = f.string(value["description"], f.join(path, "description"), max_length=1024 * 64)
    if value.get("parameters") is not None:
        if not isinstance(value["parameters"], dict):
            raise f.invalid_type(f.join(path, "parameters"), "an object (a JSON Schema)", value["parameters"])
        cleaned["parameters"] = value["parameters"]
    if "strict" in value:
        cleaned["strict"] = f.boolean(value["strict"], f.join(path, "strict"), nullable=True)
    return cleaned


def tool_choice(value: Any, path: str = "tool_choice") -> str | dict | None:
    """"none" | "auto" | "required" | {"type": "function", "function": {"name"}} | {"type": built-in}."""
    if value is None:
        return None
    if isinstance(value, str):
        return f.string(value, path, choices=("none", "auto", "required"))
    if not isinstance(value, dict):
        raise f.invalid_type(path, "a string or an object", value)
    kind = f.string(value.get("type"), f.join(path, "type"), choices=TOOL_TYPES)
    if kind != "function":
        f.obj(value, path, allowed=("type",))
        return {"type": kind}
    f.obj(value, path, allowed=("type", "function"), required=("function",))
    fn = f.obj(value["function"], f.join(path, "function"), allowed=("name",), required=("name",))
    return {"type": "function", "function": {"name": f.name_string(fn["name"], f.join(path, "function.name"))}}


def response_format(value: Any, path: str = "response_format") -> str | dict | None:
    """"auto" | {"type": "text"} | {"type": "json_object"} | {"type": "json_schema", "json_schema": {...}}."""
    if value is None:
        return None
    if isinstance(value, str):
        return f.string(value, path, choices=("auto",))
    if not isinstance(value, dict):
        raise f.invalid_type(path, "'auto' or an object", value)
    kind = f.string(value.get("type"), f.join(path, "type"), choices=("text", "json_object", "json_schema"))
    if kind != "json_schema":
        f.obj(value, path, allowed=("type",))
        return {"type": kind}
    f.obj(value, path, allowed=("type", "json_schema"), required=("json_schema",))
    schema_path = f.join(path, "json_schema")
    spec = f.obj(value["json_schema"], schema_path, allowed=("name", "description", "schema", "strict"),
                 required=("name",))
    cleaned: dict = {"name": f.name_string(spec["name"], f.join(schema_path, "name"))}
    if spec.get("description") is not None:
        cleaned["description"] = f.string(spec["description"], f.join(schema_path, "description"))
    if spec.get("schema") is not None:
        if not isinstance(spec["schema"], dict):
            raise f.invalid_type(f.join(schema_path, "schema"), "an object (a JSON Schema)", spec["schema"])
        cleaned["schema"] = spec["schema"]
    if "strict" in spec:
        cleaned["strict"] = f.boolean(spec["strict"], f.join(schema_path, "strict"), nullable=True)
    return {"type": "json_schema", "json_schema": cleaned}


def truncation_strategy(value: Any, path: str = "truncation_strategy") -> dict | None:
    if value is None:
        return None
    f.obj(value, path, allowed=("type", "last_messages"), required=("type",))
    kind = f.string(value["type"], f.join(path, "type"), choices=("auto", "last_messages"))
    last = f.integer(value.get("last_messages"), f.join(path, "last_messages"), minimum=1)
    return {"type": kind, "last_messages": last}


def reasoning_effort(value: Any, path: str = "reasoning_effort") -> str | None:
    return f.string(value, path, nullable=True, choices=REASONING_EFFORTS)


def tool_resources(value: Any, path: str = "tool_resources") -> dict | None:
    """`code_interpreter.file_ids` (≤20) and `file_search`: `vector_store_ids` (≤1) or the
    `vector_stores` helper (≤1 store to create, ≤10,000 file ids). Shapes only: the services
    check that the ids are the caller's (assistants.services.tool_resources_resolve)."""
    if value is None:
        return None
    f.obj(value, path, allowed=("code_interpreter", "file_search"))
    cleaned: dict = {}
    if value.get("code_interpreter") is not None:
        ci_path = f.join(path, "code_interpreter")
        ci = f.obj(value["code_interpreter"], ci_path, allowed=("file_ids",))
        ids = f.array(ci.get("file_ids", []), f.join(ci_path, "file_ids"), max_items=MAX_CODE_FILES, nullable=True) or []
        cleaned["code_interpreter"] = {"file_ids": _strings(ids, f.join(ci_path, "file_ids"))}
    if value.get("file_search") is not None:
        fs_path = f.join(path, "file_search")
        fs = f.obj(value["file_search"], fs_path, allowed=("vector_store_ids", "vector_stores"))
        if fs.get("vector_store_ids") is not None and fs.get("vector_stores") is not None:
            raise InvalidRequest(f"Invalid '{fs_path}': give either 'vector_store_ids' or 'vector_stores', not both.",
                                 param=fs_path, code="invalid_value")
        out: dict = {}
        if fs.get("vector_store_ids") is not None:
            ids = f.array(fs["vector_store_ids"], f.join(fs_path, "vector_store_ids"), max_items=1)
            out["vector_store_ids"] = _strings(ids, f.join(fs_path, "vector_store_ids"))
        if fs.get("vector_stores") is not None:
            stores_path = f.join(fs_path, "vector_stores")
            stores = f.array(fs["vector_stores"], stores_path, max_items=1)
            out["vector_stores"] = [_new_store(store, f.join(stores_path, i)) for i, store in enumerate(stores)]
        cleaned["file_search"] = out
    return cleaned


def _new_store(value: Any, path: str) -> dict:
    """One `vector_stores[i]` of the store helper: {file_ids, chunking_strategy, metadata}, checked
    with the vector store API's own rules (the service creates the store)."""
    spec = f.obj(value, path, allowed=("file_ids", "chunking_strategy", "metadata"))
    ids_path = f.join(path, "file_ids")
    ids = f.array(spec.get("file_ids"), ids_path, max_items=MAX_STORE_FILES, nullable=True) or []
    return {
        "file_ids": [f.string(item, f.join(ids_path, i), non_empty=True, max_length=64) for i, item in enumerate(ids)],
        "chunking_strategy": store_rules.chunking_strategy(spec.get("chunking_strategy"),
                                                           f.join(path, "chunking_strategy")),
        "metadata": f.metadata(spec.get("metadata"), f.join(path, "metadata")) or {},
    }


def _strings(items: list, path: str) -> list[str]:
    for i, item in enumerate(items):
        f.string(item, f.join(path, i), non_empty=True)
    return list(items)
