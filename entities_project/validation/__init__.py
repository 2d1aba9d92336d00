"""Request validation for every surface (REST, WebSocket, the seed route).

Pure functions: each takes the decoded JSON body and returns clean input for a service,
or raises ``InvalidRequest(message, param=<field path>)``.
"""

from entities_project.validation.bodies import (
    check_beta_header,
    validate_assistant_create,
    validate_assistant_update,
    validate_include,
    validate_message_create,
    validate_metadata_only,
    validate_run_create,
    validate_submit_tool_outputs,
    validate_thread_and_run,
    validate_thread_create,
    validate_thread_update,
)
from entities_project.validation.messages import content as validate_content

__all__ = [
    "check_beta_header",
    "validate_assistant_create",
    "validate_assistant_update",
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
