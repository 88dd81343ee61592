"""URLs of the order API, mounted under /async/."""

from django.urls import path, re_path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api import views
from api.problems import no_route
from api.receipts import ReceiptView

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("orders/", views.OrderListView.as_view(), name="orders"),
    path("orders/<str:order_id>/", views.OrderView.as_view(), name="order"),
    path("orders/<str:order_id>/history/", views.OrderHistoryView.as_view(), name="order-history"),
    path(
        "orders/<str:order_id>/children/", views.OrderChildrenView.as_view(), name="order-children"
    ),
    path("orders/<str:order_id>/cancel/", views.CancelOrderView.as_view(), name="order-cancel"),
    path("orders/<str:order_id>/receipt/", ReceiptView.as_view(), name="order-receipt"),
    path("<str:resource_name>/order/", views.PlaceOrderView.as_view(), name="place-order"),
    # Last: any other path under /async/ is a problem+json 404 (never Django's HTML page,
    # never APPEND_SLASH's redirect or, for a POST in DEBUG, its RuntimeError).
    # [\s\S] and \Z: a path holding or ending with a newline (%0A) is matched too ("."
    # and "$" would miss it; an inline (?s) flag breaks reverse()).
    re_path(r"^(?P<path>[\s\S]*)\Z", no_route, name="no-route"),
]
