"""URLs of the order API, mounted under /async/."""

from django.urls import path
from drf_spectacular.views import SpectacularAPIView, SpectacularSwaggerView

from api import views

app_name = "api"

urlpatterns = [
    path("schema/", SpectacularAPIView.as_view(), name="schema"),
    path("docs/", SpectacularSwaggerView.as_view(url_name="api:schema"), name="docs"),
    path("orders/", views.OrderListView.as_view(), name="orders"),
    path("orders/<str:order_id>/", views.OrderView.as_view(), name="order"),
    path("orders/<str:order_id>/history/", views.OrderHistoryView.as_view(), name="order-history"),
    path("orders/<str:order_id>/cancel/", views.CancelOrderView.as_view(), name="order-cancel"),
    path("<str:resource_name>/order/", views.PlaceOrderView.as_view(), name="place-order"),
]
