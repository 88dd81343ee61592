"""URLs of the pizzeria demo."""

from django.urls import path

from examples.pizzeria import views

app_name = "pizzeria"

urlpatterns = [path("pizzas/<int:pk>/", views.pizza_detail, name="pizza")]
