"""Stripe's webhook endpoint: signature checked, each event applied once (payments.services)."""

from django.http import JsonResponse
from django.views.decorators.csrf import csrf_exempt
from django.views.decorators.http import require_POST

from store.core.exceptions import ApplicationError

from . import services


@csrf_exempt  # Stripe signs its requests instead; an unsigned or forged one is refused below
@require_POST
def stripe_webhook(request):
    if request.content_type != "application/json":  # Stripe sends JSON; the raw body of anything else is not read
        return JsonResponse({"code": "unsupported_media_type", "message": "Stripe's events are JSON."}, status=415)
    try:
        result = services.payment_webhook(payload=request.body,
                                          signature=request.headers.get("Stripe-Signature", ""))
    except ApplicationError as exc:
        return JsonResponse(exc.as_dict(), status=exc.status)
    return JsonResponse({"received": True, "result": result})
