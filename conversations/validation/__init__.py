"""Request validation of the thread, message and run endpoints (REST, WebSocket, the seed route).

Pure functions: each takes the decoded JSON body and returns clean input for a service,
or raises ``InvalidRequest(message, param=<field path>)``.
"""

from conversations.validation.bodies import (
    validate_include,
    validate_message_create,
    validate_metadata_only,
    validate_run_create,
    validate_submit_tool_outputs,
    validate_thread_and_run,
    validate_thread_create,
    validate_thread_update,
)
from conversations.validation.messages import content as validate_content

__all__ = [
    "validate_content",
    "validate_include",
    "validate_message_create",
    "validate_metadata_only",
    "validate_run_create",
    "validate_submit_tool_outputs",
    "validate_thread_and_run",
    "validate_thread_create",
    "validate_thread_update",
]
