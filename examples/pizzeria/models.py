"""The pizza: what an order of the pizzeria makes."""

from django.db import models


class Pizza(models.Model):
    name = models.CharField(max_length=50)
    order_id = models.UUIDField(unique=True)
    steps = models.PositiveIntegerField()
    baked_at = models.DateTimeField(auto_now_add=True)

    def __str__(self) -> str:
        return f"{self.name} #{self.pk}"
