"""The peer's URLs: place a task, poll its TaskResult, a constant JSON view."""

from django.urls import path

from bench.peer_dcr import views

urlpatterns = [
    path("peer/tasks/", views.PlaceTaskView.as_view(), name="peer-place"),
    path("peer/tasks/<str:task_id>/", views.TaskStatusView.as_view(), name="peer-task"),
    path("peer/constant/", views.ConstantView.as_view(), name="peer-constant"),
]
