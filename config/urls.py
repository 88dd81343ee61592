"""Root URLs: the order API under /async/, the pizzeria demo, the admin."""

from django.contrib import admin
from django.urls import include, path

from streams import views as streams

urlpatterns = [
    # Before api.urls, whose last pattern answers every other path under /async/ with a 404.
    path("async/orders/<str:order_id>/events/", streams.order_events, name="order-events"),
    path("async/events/", streams.firehose, name="events"),
    path("async/", include("api.urls")),
    path("pizzeria/", include("examples.pizzeria.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "api.problems.bad_request"
handler404 = "api.problems.not_found"
handler500 = "api.problems.server_error"
