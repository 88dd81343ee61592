"""Who may use the order endpoints: signed-in users, or anyone in the embedded demo."""

from __future__ import annotations

from typing import Any

from django.conf import settings
from rest_framework.permissions import BasePermission
from rest_framework.request import Request


class CanUseOrders(BasePermission):
    def has_permission(self, request: Request, view: Any) -> bool:
        if settings.ASYNC_REST["ALLOW_ANONYMOUS"]:
            return True
        return bool(request.user and request.user.is_authenticated)


def owner_of(request: Request) -> str | None:
    """The owner recorded on new orders: the user's primary key, None when anonymous."""
    user = request.user
    return str(user.pk) if user and user.is_authenticated else None


def can_see(request: Request, owner: str | None) -> bool:
    """Staff see every order; a user sees their own; anonymous orders are open (demo only)."""
    user = request.user
    if user and user.is_authenticated and user.is_staff:
        return True
    return owner == owner_of(request)
