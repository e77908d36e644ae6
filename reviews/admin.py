"""Reviews for staff: held and flagged reviews first; approve, hide or delete with a reason, each action behind its
own permission (reviews.approve_review, reviews.hide_review, reviews.delete_review)."""

from django import forms
from django.contrib import admin, messages
from django.contrib.admin.helpers import ACTION_CHECKBOX_NAME
from django.shortcuts import render

from store.core.exceptions import ApplicationError

from . import services
from .models import ModerationEvent, ProductRating, Review, ReviewFlag


class ReasonForm(forms.Form):
    reason = forms.CharField(max_length=500, widget=forms.Textarea(attrs={"rows": 3}),
                             help_text="Kept in the review's moderation log.")


class FlagInline(admin.TabularInline):
    model = ReviewFlag
    extra = 0
    can_delete = False
    readonly_fields = ("user_id", "reason", "created_at")

    def has_add_permission(self, request, obj=None):
        return False


def _moderate(action: str, verb: str, permission: str):
    def run(modeladmin, request, queryset):
        form = ReasonForm(request.POST if "apply" in request.POST else None)
        if not form.is_valid():
            return render(request, "admin/reviews/reason.html", {
                **modeladmin.admin_site.each_context(request), "form": form, "reviews": queryset,
                "action": request.POST.get("action"), "verb": verb, "opts": modeladmin.model._meta,
                "selected": request.POST.getlist(ACTION_CHECKBOX_NAME)})
        done = 0
        for review_id in queryset.values_list("id", flat=True):
            try:
                services.review_moderate(review_id=review_id, action=action, reason=form.cleaned_data["reason"],
                                         staff_user_id=request.user.pk)
                done += 1
            except ApplicationError as exc:
                modeladmin.message_user(request, exc.message, messages.ERROR)
        modeladmin.message_user(request, f"{verb.capitalize()} {done} review(s).", messages.SUCCESS)
        return None

    run.__name__ = f"{action}_reviews"
    run.short_description = f"{verb.capitalize()} the selected reviews (with a reason)"
    run.allowed_permissions = (permission,)
    return run


@admin.register(Review)
class ReviewAdmin(admin.ModelAdmin):
    list_display = ("title", "product_slug", "rating", "status", "held_because", "flag_count", "helpful_count",
                    "author_name", "created_at")
    list_filter = ("status", "rating")
    search_fields = ("product_slug", "title", "author_name")
    ordering = ("-flag_count", "-created_at")
    readonly_fields = [f.name for f in Review._meta.fields]
    inlines = [FlagInline]
    actions = [_moderate("approve", "approved", "approve"), _moderate("hide", "hidden", "hide"),
               _moderate("delete", "deleted", "delete_action")]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False  # changes go through the actions, which keep the ratings and the log

    def has_delete_permission(self, request, obj=None):
        return False  # likewise: the "delete" action asks for a reason

    def has_approve_permission(self, request):
        return request.user.has_perm("reviews.approve_review")

    def has_hide_permission(self, request):
        return request.user.has_perm("reviews.hide_review")

    def has_delete_action_permission(self, request):
        return request.user.has_perm("reviews.delete_review")

    def get_actions(self, request):
        actions = super().get_actions(request)
        actions.pop("delete_selected", None)
        return actions


@admin.register(ModerationEvent)
class ModerationEventAdmin(admin.ModelAdmin):
    list_display = ("at", "action", "review_id", "product_slug", "reason", "staff_user_id")
    list_filter = ("action",)
    readonly_fields = [f.name for f in ModerationEvent._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False


@admin.register(ProductRating)
class ProductRatingAdmin(admin.ModelAdmin):
    list_display = ("product_slug", "count", "rating_sum", "stars_1", "stars_2", "stars_3", "stars_4", "stars_5")
    search_fields = ("product_slug",)
    readonly_fields = [f.name for f in ProductRating._meta.fields]

    def has_add_permission(self, request):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
