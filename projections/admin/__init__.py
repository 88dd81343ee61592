"""Staff admin for orders: a fast list, a timeline per order, replay by version, re-run."""

from django.contrib import admin

from projections.admin.order_admin import OrderSummaryAdmin
from projections.models import OrderSummary

admin.site.register(OrderSummary, OrderSummaryAdmin)
