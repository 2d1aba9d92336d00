"""The base of every /v1 view.

`V1APIView` adds the OpenAI-Beta policy to DRF's defaults (authentication, throttles,
the error envelope from REST_FRAMEWORK settings).
"""

from __future__ import annotations

from rest_framework.views import APIView

from kernel.errors import InvalidRequest

# The SDK's poll helpers wait this long between GETs of a run when the server says so.
POLL_AFTER_MS = "100"


def check_beta_header(value: str | None) -> None:
    """`OpenAI-Beta` may be absent; when present it must contain `assistants=v2` (as OpenAI required)."""
    if value is None:
        return
    if "assistants=v2" not in {part.strip() for part in value.split(",")}:
        raise InvalidRequest(
            "Entities implements the v2 Assistants API. Set the header 'OpenAI-Beta: assistants=v2' "
            f"(got {value!r}), or leave it out.", code="invalid_beta",
        )


class V1APIView(APIView):
    """An Assistants-API endpoint: `OpenAI-Beta`, when sent, must name assistants=v2."""

    checks_beta_header = True

    def initial(self, request, *args, **kwargs):
        super().initial(request, *args, **kwargs)
        if self.checks_beta_header:
            check_beta_header(request.headers.get("OpenAI-Beta"))
