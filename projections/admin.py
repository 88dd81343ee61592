"""Read-only admin list of order summaries (the timeline comes with issue #3)."""

from django.contrib import admin
from django.http import HttpRequest

from projections.models import OrderSummary


@admin.register(OrderSummary)
class OrderSummaryAdmin(admin.ModelAdmin):
    list_display = ("order_id", "resource_name", "status", "progress", "owner", "created")
    list_filter = ("status", "resource_name")
    search_fields = ("=order_id", "message")

    def has_add_permission(self, request: HttpRequest) -> bool:
        return False

    def has_change_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False

    def has_delete_permission(self, request: HttpRequest, obj: object = None) -> bool:
        return False
