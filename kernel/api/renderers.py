"""The JSON renderer every API view uses: DRF's, but a stored lone surrogate cannot make it fail.

Input with one is refused (kernel.api.parsers), yet rows stored before that check still
hold some; DRF's renderer would raise UnicodeEncodeError (a 500 for the whole page of a
list). Only then is the data rendered again with U+FFFD in their place.
"""

from __future__ import annotations

from rest_framework.renderers import JSONRenderer

from kernel.validation.fields import without_surrogates


class SafeJSONRenderer(JSONRenderer):
    """JSON that is always valid UTF-8."""

    def render(self, data, accepted_media_type=None, renderer_context=None):
        try:
            return super().render(data, accepted_media_type, renderer_context)
        except UnicodeEncodeError:
            return super().render(without_surrogates(data), accepted_media_type, renderer_context)
