"""The JSON parser every API view uses: DRF's, plus the checks of kernel.validation.fields.

DRF's parser turns a ValueError into ParseError but lets RecursionError (JSON nested
~1,000+ deep) through as a 500, and accepts lone surrogates (``"\\udfff"``), which are
not Unicode and break the response that echoes them. Both are 400s here, before a view
sees the body.
"""

from __future__ import annotations

from rest_framework.parsers import JSONParser

from kernel.errors import InvalidRequest
from kernel.validation.fields import MAX_JSON_DEPTH, json_checked


class CheckedJSONParser(JSONParser):
    """application/json with a depth limit and Unicode-only strings."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise InvalidRequest(f"The JSON body is nested more than {MAX_JSON_DEPTH} levels deep.",
                                 code="invalid_json") from None
        return json_checked(data)
