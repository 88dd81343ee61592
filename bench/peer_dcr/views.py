"""The peer's DRF views: POST ``delay()``s the task (302), GET reads its TaskResult row."""

from __future__ import annotations

import json
from typing import Any

from celery import states
from django.urls import reverse
from django_celery_results.models import TaskResult
from rest_framework import serializers
from rest_framework.permissions import IsAuthenticated
from rest_framework.request import Request
from rest_framework.response import Response
from rest_framework.views import APIView

from bench.peer_dcr.tasks import run_steps
from bench.steps import MAX_HOLD, MAX_INTERVAL, MAX_STEPS

CONSTANT = {"status": "ok", "progress": 50}  # the same body as bench.baseline's ConstantView
RETRY_AFTER = "1"  # what async-rest answers by default
ENDED = frozenset({states.FAILURE, states.REVOKED})


class StepsSerializer(serializers.Serializer):
    """The POST body: how many progress steps, their interval, and the bench's extras."""

    steps = serializers.IntegerField(min_value=0, max_value=MAX_STEPS, default=10)
    interval = serializers.FloatField(min_value=0, max_value=MAX_INTERVAL, default=0)
    stamp = serializers.BooleanField(default=False)
    hold = serializers.RegexField(r"^[0-9a-f]{8,64}$", required=False)
    hold_max = serializers.FloatField(min_value=0, max_value=MAX_HOLD, default=60)


class PlaceTaskView(APIView):
    """``POST /peer/tasks/``: send the task, answer 302 to its status URL."""

    permission_classes = [IsAuthenticated]

    def post(self, request: Request) -> Response:
        params = StepsSerializer(data=request.data)
        params.is_valid(raise_exception=True)
        result = run_steps.delay(dict(params.validated_data))
        location = request.build_absolute_uri(reverse("peer-task", args=[result.id]))
        body = {"task_id": result.id, "status": states.PENDING}
        return Response(body, status=302, headers={"Location": location})


def decoded(row: TaskResult) -> Any:
    # django-celery-results keeps the result (or the progress meta) serialised, as JSON here.
    return json.loads(row.result) if row.result else None


class TaskStatusView(APIView):
    """``GET /peer/tasks/<id>/``: 202 while pending or running, 201 + Location, 200 if failed.

    Running includes the task's own PROGRESS state. No row yet means pending: Celery cannot
    tell an unknown task from one not started.
    """

    def get(self, request: Request, task_id: str) -> Response:
        try:
            row = TaskResult.objects.get(task_id=task_id)
        except TaskResult.DoesNotExist:
            body = {"task_id": task_id, "status": states.PENDING, "info": None}
            return Response(body, status=202, headers={"Retry-After": RETRY_AFTER})
        info = decoded(row)
        body = {
            "task_id": row.task_id,
            "status": row.status,
            "info": info,
            "date_created": row.date_created.isoformat(),
            "date_done": row.date_done.isoformat() if row.date_done else None,
        }
        if row.status == states.SUCCESS:
            return Response(
                body, status=201, headers={"Location": request.build_absolute_uri(info)}
            )
        if row.status in ENDED:
            return Response(body, status=200)
        return Response(body, status=202, headers={"Retry-After": RETRY_AFTER})


class ConstantView(APIView):
    """``GET /peer/constant/``: the same small JSON body every time, no database query."""

    def get(self, request: Request) -> Response:
        return Response(CONSTANT)
