"""The API's request parser (DRF's own, configured in REST_FRAMEWORK; kept apart from store.core.api, which
imports DRF's views, so DRF can import it while it loads its settings)."""

import json

from rest_framework import exceptions, parsers


class JSONParser(parsers.JSONParser):
    """DRF's JSON parser, refusing (400, like any malformed JSON) what Python's parser takes but is not text or
    cannot be handled: a body in a charset other than UTF-8, a body nested too deep for it, and a lone UTF-16 surrogate
    escape ("\\ud800"), which would fail wherever the text is written (Redis, PostgreSQL)."""

    def parse(self, stream, media_type=None, parser_context=None):
        # JSON is UTF-8 (RFC 8259). DRF would decode the charset the Content-Type names, and in UTF-7 "+AFw-u0000"
        # is the escape \u0000: a NUL that no guard reading the raw bytes sees.
        charset = ((parser_context or {}).get("encoding") or "utf-8").lower().replace("_", "-")
        if charset not in ("utf-8", "utf8"):
            raise exceptions.ParseError("JSON parse error - a JSON body is UTF-8 (charset=utf-8, or none).")
        try:
            data = super().parse(stream, media_type, parser_context)
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None
        try:
            json.dumps(data, ensure_ascii=False).encode()
        except UnicodeEncodeError:
            raise exceptions.ParseError("JSON parse error - a \\u escape is a lone surrogate, not a character.") \
                from None
        except RecursionError:
            raise exceptions.ParseError("JSON parse error - the body is nested too deeply.") from None
        return data
