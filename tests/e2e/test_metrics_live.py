"""/metrics on real processes: gunicorn and a Celery worker whose supervision loop counts."""

from __future__ import annotations

import time
import urllib.error
import urllib.request
from collections.abc import Iterator
from pathlib import Path

import pytest
from prometheus_client.parser import text_string_to_metric_families

from tests.e2e.stack import LiveStack, production_stack

pytestmark = pytest.mark.services

TOKEN = "e2e-scrape-token"


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    env = {"ASYNC_REST_METRICS_TOKEN": TOKEN, "ASYNC_REST_CATCHUP_INTERVAL": "0.5"}
    var_dir: Path = tmp_path_factory.mktemp("metrics")
    with production_stack(var_dir, env) as live:
        yield live.start()


def scrape(stack: LiveStack, authorization: str) -> tuple[int, str]:
    request = urllib.request.Request(
        stack.base + "/metrics", headers={"Authorization": authorization}
    )
    try:
        with urllib.request.urlopen(request, timeout=10) as answer:
            return answer.status, answer.read().decode()
    except urllib.error.HTTPError as refused:
        return refused.code, ""


def counted(text: str, name: str, **labels: str) -> float:
    for family in text_string_to_metric_families(text):
        for sample in family.samples:
            if sample.name == name and sample.labels == labels:
                return sample.value
    return 0.0


def test_the_workers_count_the_orders_they_ran_into_the_scrape(stack: LiveStack) -> None:
    for _ in range(3):
        placed = stack.request(
            "POST", "/async/regina/order/", {"context": {"steps": 3, "step_seconds": 0.05}}
        )
        stack.poll_until_done(placed.headers["Location"])
    deadline, text = time.monotonic() + 30, ""
    while time.monotonic() < deadline:
        text = scrape(stack, f"Bearer {TOKEN}")[1]
        ended = counted(
            text, "async_rest_orders_ended_total", resource="regina", status="completed"
        )
        if ended and not counted(text, "async_rest_projection_lag_events", projection="metrics"):
            break
        time.sleep(0.5)
    assert (
        counted(text, "async_rest_orders_placed_total", resource="regina"),
        counted(text, "async_rest_orders_ended_total", resource="regina", status="completed"),
        counted(text, "async_rest_order_run_seconds_count", resource="regina"),
    ) == (3, 3, 3)


def test_a_user_who_is_not_staff_may_not_scrape(stack: LiveStack) -> None:
    assert scrape(stack, stack.headers["Authorization"])[0] == 403


def test_a_wrong_scrape_token_may_not_scrape(stack: LiveStack) -> None:
    assert scrape(stack, "Bearer not-the-token")[0] == 401
