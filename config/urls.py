"""Root URLs: the order API under /async/, the pizzeria demo, the admin, /metrics."""

from django.contrib import admin
from django.urls import include, path

from api.receipts import ReceiptKeysView
from metrics.views import MetricsView
from streams import views as streams

urlpatterns = [
    # Before api.urls, whose last pattern answers every other path under /async/ with a 404.
    path("async/orders/<str:order_id>/events/", streams.order_events, name="order-events"),
    path("async/events/", streams.firehose, name="events"),
    path("async/", include("api.urls")),
    path("pizzeria/", include("examples.pizzeria.urls")),
    path("admin/", admin.site.urls),
    # Public: the keys that check receipts, where an auditor's tool looks (RFC 8615).
    path(".well-known/async-rest-keys", ReceiptKeysView.as_view(), name="receipt-keys"),
    path("metrics", MetricsView.as_view(), name="metrics"),
]

handler400 = "api.problems.bad_request"
handler404 = "api.problems.not_found"
handler500 = "api.problems.server_error"
