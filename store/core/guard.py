"""No NUL characters: PostgreSQL cannot store one in text, and nothing a shopper or a script sends this shop needs
one. A request carrying one — in its path, its query string or its body, raw, percent-encoded or as a JSON
``\\u0000`` escape — is answered 400 before any view runs, so no query ever fails on it (it was a 500 wherever a
SKU, slug or order number from the request reached the database). Multipart bodies (staff uploads in the admin)
are left to Django's forms, which refuse NUL characters themselves.
"""

from __future__ import annotations

import re

from django.http import HttpResponseBadRequest, JsonResponse

_JSON_NUL = re.compile(rb"\\u0000", re.IGNORECASE)
MESSAGE = "Text sent to the shop may not contain NUL characters."


class NulCharacterMiddleware:
    def __init__(self, get_response):
        self.get_response = get_response

    def __call__(self, request):
        if self._carries_nul(request):
            if request.path.startswith("/api/"):
                return JsonResponse({"code": "invalid_input", "message": MESSAGE}, status=400)
            return HttpResponseBadRequest(MESSAGE, content_type="text/plain; charset=utf-8")
        return self.get_response(request)

    @staticmethod
    def _carries_nul(request) -> bool:
        if "\x00" in request.path or "%00" in request.META.get("QUERY_STRING", ""):
            return True
        if request.method in ("GET", "HEAD", "OPTIONS") or not request.META.get("CONTENT_LENGTH"):
            return False
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("multipart/"):
            return False
        body = request.body
        if b"\x00" in body:
            return True
        if content_type.startswith("application/json"):  # there "%00" is text; the escape is the NUL
            return bool(_JSON_NUL.search(body))
        return b"%00" in body or bool(_JSON_NUL.search(body))
