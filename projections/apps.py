"""Django app config for projections: the read models, the admin, the maintenance commands."""

from django.apps import AppConfig


class ProjectionsConfig(AppConfig):
    name = "projections"
    label = "projections"
    default_auto_field = "django.db.models.BigAutoField"
