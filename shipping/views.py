"""The signed-in shopper's address book: list, add, edit, delete, and which is the default shipping address."""

from django.contrib import messages
from django.contrib.auth.decorators import login_required
from django.http import Http404
from django.shortcuts import redirect, render
from django.views.decorators.http import require_http_methods, require_POST

from store.core.exceptions import ApplicationError, InvalidInput

from . import services
from .forms import AddressForm


@login_required
@require_http_methods(["GET", "POST"])
def addresses(request, address_id: int | None = None):
    """The book, and a form that adds one (or, with ``address_id``, changes that one)."""
    current = None
    if address_id is not None:
        try:
            current = services.address_get(user_id=request.user.pk, address_id=address_id)
        except ApplicationError as exc:
            raise Http404(exc.message) from exc
    initial = {**current.as_dict(), "is_default": current.is_default} if current else {}
    form = AddressForm(request.POST or None, initial=initial)
    if request.method == "POST" and form.is_valid():
        try:
            services.address_save(user_id=request.user.pk, fields=form.cleaned_data, address_id=address_id,
                                  make_default=form.cleaned_data["is_default"])
        except InvalidInput as exc:
            field = exc.extra.get("field") if exc.extra else None
            form.add_error(field if field in form.fields else None, exc.message)
        else:
            messages.success(request, "Address saved.")
            return redirect("shipping:addresses")
    return render(request, "shipping/addresses.html", {
        "book": [(a, services.address_lines(a.as_dict())) for a in services.address_book(user_id=request.user.pk)],
        "form": form, "current": current})


@login_required
@require_POST
def address_delete(request, address_id: int):
    try:
        services.address_delete(user_id=request.user.pk, address_id=address_id)
    except ApplicationError as exc:
        raise Http404(exc.message) from exc
    messages.success(request, "Address deleted.")
    return redirect("shipping:addresses")
