"""Content negotiation that never answers 406.

The openai SDK sends `Accept: application/json` even for streams; SSE responses are
plain Django StreamingHttpResponses that bypass renderers, so JSON is always acceptable.
"""

from rest_framework.negotiation import DefaultContentNegotiation


class LenientContentNegotiation(DefaultContentNegotiation):
    def select_renderer(self, request, renderers, format_suffix=None):
        try:
            return super().select_renderer(request, renderers, format_suffix)
        except Exception:  # NotAcceptable: fall back to the first renderer (JSON)
            return renderers[0], renderers[0].media_type
