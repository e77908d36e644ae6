"""No NUL characters: PostgreSQL cannot store one in text, and nothing a shopper or a script sends this shop needs
one. A request carrying one — in its path, its query string or its body, raw, percent-encoded or as a JSON
``\\u0000`` escape — is answered 400 before any view runs, so no query ever fails on it (it was a 500 wherever a
SKU, slug or order number from the request reached the database). In a multipart body the fields are read as
Django parses them (not every value reaches a Django form, which would refuse a NUL: the payment-cancelled page reads
the order number itself); uploaded files' bytes are theirs.
"""

from __future__ import annotations

import re

from django.conf import settings
from django.http import HttpResponseBadRequest, JsonResponse
from django.http.multipartparser import MultiPartParserError

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
        try:  # (Django reads a length that is no number as none; a server in front normally refuses it)
            length = int(request.META.get("CONTENT_LENGTH") or 0)
        except ValueError:
            length = 0
        if request.method in ("GET", "HEAD", "OPTIONS") or length <= 0:
            return False
        content_type = request.META.get("CONTENT_TYPE", "")
        if content_type.startswith("multipart/"):  # its fields as parsed (a file's bytes are the file's own)
            limit = settings.DATA_UPLOAD_MAX_MEMORY_SIZE
            if limit is None or length <= limit:
                request.body  # noqa: B018 - kept, so a view may still read the raw body (the fields parse from it)
            try:  # (larger: parsed from the stream, as Django does; Django keeps no raw body that size anyway)
                fields = request.POST
            except MultiPartParserError:
                return False  # (Django's answer to a broken body stands)
            return any("\x00" in name or any("\x00" in value for value in values) for name, values in fields.lists())
        body = request.body
        if b"\x00" in body:
            return True
        if content_type.startswith("application/json"):  # there "%00" is text; the escape is the NUL
            return bool(_JSON_NUL.search(body))
        return b"%00" in body or bool(_JSON_NUL.search(body))
