"""The JSON error shape of API.md, in one place: every error is {"code", "message", ...details}."""

from __future__ import annotations

import json

from django.core.exceptions import PermissionDenied
from django.http import Http404, JsonResponse
from rest_framework import exceptions, status
from rest_framework.authentication import CSRFCheck
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from store.core.exceptions import ApplicationError
from store.core.requests import has_session

_CODES = {
    status.HTTP_400_BAD_REQUEST: "invalid_request",
    status.HTTP_401_UNAUTHORIZED: "not_authenticated",
    status.HTTP_403_FORBIDDEN: "permission_denied",
    status.HTTP_404_NOT_FOUND: "not_found",
    status.HTTP_405_METHOD_NOT_ALLOWED: "method_not_allowed",
    status.HTTP_406_NOT_ACCEPTABLE: "not_acceptable",
    status.HTTP_415_UNSUPPORTED_MEDIA_TYPE: "unsupported_media_type",
    status.HTTP_429_TOO_MANY_REQUESTS: "rate_limited",
}


def error_response(code: str, message: str, http_status: int, **extra) -> Response:
    return Response({"code": code, "message": message, **extra}, status=http_status)


def _retry_after(exc: ApplicationError) -> dict:
    return {"Retry-After": str(getattr(exc, "retry_after", 5))} if exc.status in (429, 503) else {}


def exception_handler(exc, context):
    if isinstance(exc, ApplicationError):
        return Response(exc.as_dict(), status=exc.status, headers=_retry_after(exc))
    if isinstance(exc, Http404):
        exc = exceptions.NotFound()
    elif isinstance(exc, PermissionDenied):
        exc = exceptions.PermissionDenied()
    response = drf_exception_handler(exc, context)
    if response is None:
        return None
    if isinstance(exc, exceptions.ValidationError):
        response.data = {"code": "invalid_input", "message": "The request is not valid.", "errors": response.data}
    else:
        detail = response.data.get("detail", "") if isinstance(response.data, dict) else response.data
        response.data = {"code": _CODES.get(response.status_code, "error"), "message": str(detail)}
    return response


class LeanApiView(APIView):
    """An APIView whose ``lean_<method>(request, data, ...)`` handlers, where defined, answer without DRF's
    per-request machinery (Request wrapping, negotiation, renderers, about a tenth of a cheap request's cost): a
    plain Django request and its parsed JSON body (None for a GET) in, ``(status, body)`` out. For the hottest
    endpoints only (adding to a cart, reading one). DRF's rules are kept: JSON bodies only (415 otherwise), CSRF
    enforced when the caller is signed in through the session (SessionAuthentication's rule, with its own check),
    the API's error shape above. The class's ordinary methods still document the endpoint for OpenAPI and answer
    every other method."""

    def dispatch(self, request, *args, **kwargs):
        lean = getattr(self, f"lean_{request.method.lower()}", None)
        if lean is None:
            return super().dispatch(request, *args, **kwargs)
        try:
            _enforce_session_csrf(request)
            data = None if request.method == "GET" else _json_body(request)  # (a GET's body means nothing)
            status, body = lean(request, data, *args, **kwargs)
            return JsonResponse(body, status=status)
        except (ApplicationError, exceptions.APIException) as exc:
            answer = exception_handler(exc, {})  # the same answer the DRF path gives, as plain JSON
            response = JsonResponse(answer.data, status=answer.status_code, safe=False)
            for name, value in answer.items():
                if name.lower() != "content-type":  # (Retry-After and the like; the body is JSON here)
                    response[name] = value
            return response


def _enforce_session_csrf(request) -> None:
    if not has_session(request):  # cannot be signed in through the session
        return
    user = getattr(request, "user", None)
    if user is not None and user.is_active:  # signed in through the session cookie: a browser, so CSRF applies
        check = CSRFCheck(lambda _request: None)
        check.process_request(request)
        reason = check.process_view(request, None, (), {})
        if reason:
            raise exceptions.PermissionDenied(f"CSRF Failed: {reason}")


def _json_body(request):
    content_type = request.META.get("CONTENT_TYPE", "")
    if not request.body:
        return {}
    if content_type.split(";")[0].strip().lower() != "application/json":
        raise exceptions.UnsupportedMediaType(content_type)
    try:
        return json.loads(request.body)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise exceptions.ParseError(f"JSON parse error - {exc}") from None
