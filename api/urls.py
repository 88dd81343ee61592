"""URLs of the order API, mounted under /async/."""

from django.urls import path

from api import views

app_name = "api"

urlpatterns = [
    path("orders/<str:order_id>/", views.OrderView.as_view(), name="order"),
    path("orders/<str:order_id>/history/", views.OrderHistoryView.as_view(), name="order-history"),
    path("<str:resource_name>/order/", views.PlaceOrderView.as_view(), name="place-order"),
]
