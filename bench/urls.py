"""Bench URLs: the comparison views first, then every URL of config.urls unchanged."""

from django.urls import include, path

from bench.baseline import views

urlpatterns = [
    path("bench/constant/", views.ConstantView.as_view(), name="bench-constant"),
    path("bench/taskresult/<str:task_id>/", views.TaskResultView.as_view(), name="bench-task"),
    path("bench/status-get/<str:order_id>/", views.StatusByGetView.as_view(), name="bench-status"),
    path("bench/status-raw/<str:order_id>/", views.StatusByRawView.as_view(), name="bench-raw"),
    path("", include("config.urls")),
]

handler400 = "api.problems.bad_request"
handler404 = "api.problems.not_found"
handler500 = "api.problems.server_error"
