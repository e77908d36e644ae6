"""The API's request parser (DRF's own, configured in REST_FRAMEWORK; kept apart from store.core.api, which
imports DRF's views, so DRF can import it while it loads its settings)."""

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, with a body nested too deep for Python's parser answered like any malformed JSON (400)."""

    def parse(self, stream, media_type=None, parser_context=None):
        try:
            return super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None
