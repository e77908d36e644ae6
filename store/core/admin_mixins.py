"""Shared admin behaviour."""


class ReadOnlyAdminMixin:
    """Records that change only through services (ledgers, payments, reservations): staff may look, not edit."""

    def has_add_permission(self, request, obj=None):
        return False

    def has_change_permission(self, request, obj=None):
        return False

    def has_delete_permission(self, request, obj=None):
        return False
