"""Root URLs: the order API under /async/, the pizzeria demo, the admin."""

from django.contrib import admin
from django.urls import include, path

urlpatterns = [
    path("async/", include("api.urls")),
    path("pizzeria/", include("examples.pizzeria.urls")),
    path("admin/", admin.site.urls),
]

handler400 = "api.problems.bad_request"
handler404 = "api.problems.not_found"
handler500 = "api.problems.server_error"
