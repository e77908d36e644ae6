"""The JSON error shape of docs/api.md, in one place: every error is {"code", "message", ...details}; and the API's
OpenAPI schema class (REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS), which documents the answers every operation can give
besides its own."""

from __future__ import annotations

from django.core.exceptions import PermissionDenied
from django.http import Http404
from drf_spectacular.openapi import AutoSchema as SpectacularAutoSchema
from rest_framework import exceptions, serializers, status
from rest_framework.response import Response
from rest_framework.views import APIView
from rest_framework.views import exception_handler as drf_exception_handler

from store.core.exceptions import ApplicationError

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


class ErrorSerializer(serializers.Serializer):
    """Every error the API answers (docs/api.md). Some add details: the field or parameter at fault, the units still
    available, the order's number, the seconds to wait (with a Retry-After header) …"""

    code = serializers.CharField(help_text="the stable machine name, e.g. insufficient_stock")
    message = serializers.CharField(help_text="what went wrong, for a person")
    field = serializers.CharField(required=False, help_text="the body field at fault")
    param = serializers.CharField(required=False, help_text="the query parameter at fault")
    errors = serializers.JSONField(required=False, help_text="invalid_input: the message of each field at fault")
    retry_after = serializers.IntegerField(required=False, min_value=1, help_text="seconds to wait (429, 503)")

    class Meta:
        ref_name = "Error"


Error = ErrorSerializer


_UNSAFE = ("POST", "PUT", "PATCH", "DELETE")


class AutoSchema(SpectacularAutoSchema):
    """drf-spectacular's, plus the answers any operation may give whatever it does, each with the error body:
    400 for a NUL character anywhere or a malformed body (store.core.guard, the JSON parser), 503 when the shop
    sheds load (store.core.loadshed) or its database cannot be reached (store.core.replicas); for writes 403 (a
    signed-in session without its CSRF token) and, with a body, 415 for one that is not JSON. Retry-After is
    documented with every 429 and 503, and an empty query parameter as allowed (the views read "?page=" as no
    page). An operation's own answers are declared on it with extend_schema (whose schema class derives from this
    one: it is REST_FRAMEWORK's DEFAULT_SCHEMA_CLASS)."""

    COMMON = {"400": "invalid_input: a NUL character, or a body that is not valid JSON",
              "503": "overloaded: the shop is shedding load; unavailable: its database cannot be reached "
                     "(Retry-After)"}
    WRITES = {"403": "permission_denied: a signed-in session's write without its CSRF token",
              "415": "unsupported_media_type: the body is not JSON"}

    def get_operation(self, *args, **kwargs):
        operation = super().get_operation(*args, **kwargs)
        if operation is None:
            return None
        for parameter in operation.get("parameters", []):
            if parameter["in"] == "query" and not parameter.get("required"):
                parameter["allowEmptyValue"] = True
        common = dict(self.COMMON)
        if self.method in _UNSAFE:
            common["403"] = self.WRITES["403"]
            if "requestBody" in operation:
                common["415"] = self.WRITES["415"]
        responses = operation.setdefault("responses", {})
        error = self.resolve_serializer(ErrorSerializer(), "response").ref
        for code, description in common.items():
            responses.setdefault(code, {"content": {"application/json": {"schema": error}},
                                        "description": description})
        for code in ("429", "503"):
            if code in responses:
                responses[code].setdefault("headers", {})["Retry-After"] = {
                    "schema": {"type": "integer", "minimum": 1}, "description": "seconds to wait before trying again"}
        return operation


class ApiView(APIView):
    # The base of the shop's API views: DRF's APIView, described by the AutoSchema above (also the default schema
    # class, which drf-spectacular's extend_schema builds on). No docstring: it would describe every operation.
    schema = AutoSchema()
