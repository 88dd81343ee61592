"""URLs of the pizzeria demo."""

from django.urls import path

from examples.pizzeria import views

app_name = "pizzeria"

urlpatterns = [path("pizzas/<int:pk>/", views.PizzaView.as_view(), name="pizza")]
