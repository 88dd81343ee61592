"""async_rest_client against the live production stack (gunicorn, a Celery worker, PostgreSQL).

One stack for the module; the worker runs one task at a time, so every test leaves its
orders ended before the next one starts.
"""

from __future__ import annotations

import asyncio
import dataclasses
import io
import os
import subprocess
import sys
import time
from collections.abc import Iterator
from datetime import datetime
from types import UnionType
from typing import Any, Literal, Union, get_args, get_origin, get_type_hints
from uuid import UUID, uuid4

import pytest

from async_rest_client import (
    AsyncClient,
    Client,
    NotFound,
    Order,
    OrderCancelled,
    OrderFailed,
    OrderTimeout,
    ProgressBar,
    RemoteOrder,
)
from tests.e2e.dropping_proxy import DroppingProxy
from tests.e2e.stack import LiveStack, production_stack
from tests.services import ROOT

pytestmark = pytest.mark.services

QUICK = {"steps": 5, "step_seconds": 0.05}


@pytest.fixture(scope="module")
def stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[LiveStack]:
    with production_stack(tmp_path_factory.mktemp("client")) as live:
        yield live.start()


@pytest.fixture(scope="module")
def token(stack: LiveStack) -> str:
    return stack.headers["Authorization"].removeprefix("Token ")


@pytest.fixture
def client(stack: LiveStack, token: str) -> Iterator[Client]:
    with Client(stack.base, token=token) as made:
        yield made


@pytest.fixture(scope="module")
def pizza(stack: LiveStack, token: str) -> Iterator[tuple[RemoteOrder, io.StringIO]]:
    """One regina placed and waited for with a bar drawn into a buffer."""
    drawn = io.StringIO()
    with Client(stack.base, token=token) as client:
        order = client.place("regina", QUICK)
        order.wait(timeout=60, progress=ProgressBar(file=drawn))
        yield order, drawn


def running(order: RemoteOrder, within: float = 30.0) -> None:
    """Block until a worker has started ``order``."""
    deadline = time.monotonic() + within
    while order.refresh().status == "queued":
        assert time.monotonic() < deadline, "no worker started the order"
        time.sleep(0.1)


def test_wait_returns_the_completed_order_with_its_pizza(
    pizza: tuple[RemoteOrder, io.StringIO],
) -> None:
    order, _ = pizza
    assert (order.state.status, order.state.progress) == ("completed", 100)
    assert "/pizzeria/pizzas/" in (order.state.resource_url or "")


def test_the_bar_filled_to_100_with_the_order_s_message(
    pizza: tuple[RemoteOrder, io.StringIO],
) -> None:
    assert "The pizza is in the oven: 100%" in pizza[1].getvalue()


def test_the_history_holds_every_event_from_queued_to_completed(
    pizza: tuple[RemoteOrder, io.StringIO],
) -> None:
    order, _ = pizza
    events = list(order.history(page_size=2))  # several pages
    assert (events[0].type, events[-1].type) == ("Queued", "Completed")
    assert [e.version for e in events] == list(range(1, order.state.version + 1))


def test_the_order_is_replayed_at_its_first_version(
    pizza: tuple[RemoteOrder, io.StringIO],
) -> None:
    first = pizza[0].at(version=1)
    assert (first.status, first.replayed_version) == ("queued", 1)


def test_the_list_of_completed_orders_holds_it(
    client: Client, pizza: tuple[RemoteOrder, io.StringIO]
) -> None:
    assert pizza[0].id in {o.uuid for o in client.orders(status="completed", page_size=1)}


def test_a_failing_order_raises_order_failed_with_the_kitchen_s_message(client: Client) -> None:
    order = client.place("margherita", {"fail_with": "No more ingredients"})
    with pytest.raises(OrderFailed) as caught:
        order.wait(timeout=60, progress=False)
    assert (caught.value.message, caught.value.error_type) == (
        "No more ingredients",
        "OutOfIngredientsError",
    )


def test_a_running_order_cancelled_ends_cancelled(client: Client) -> None:
    order = client.place("regina", {"steps": 300, "step_seconds": 0.2})
    running(order)
    assert order.cancel("changed my mind").cancel_requested is True
    with pytest.raises(OrderCancelled):
        order.wait(timeout=30, progress=False)


def test_wait_gives_up_after_its_timeout(client: Client) -> None:
    order = client.place("regina", {"steps": 100, "step_seconds": 0.2})
    started = time.monotonic()
    try:
        with pytest.raises(OrderTimeout) as caught:
            order.wait(timeout=1.5, progress=False)
        assert 1.5 <= time.monotonic() - started < 5
        assert caught.value.order.status in ("queued", "running")
    finally:
        order.cancel()  # free the worker for the next test
        with pytest.raises(OrderCancelled):
            order.wait(timeout=30, progress=False)


def test_an_unknown_order_is_not_found_naming_the_uuid(client: Client) -> None:
    with pytest.raises(NotFound) as caught:
        client.order(uuid4())
    assert (caught.value.status, caught.value.field) == (404, "uuid")


def test_a_post_whose_answer_was_lost_is_retried_into_the_same_single_order(
    stack: LiveStack, token: str, client: Client
) -> None:
    tag = uuid4().hex  # finds this test's orders among the module's
    with DroppingProxy(stack.port) as proxy, Client(proxy.url, token=token) as through:
        order = through.place("regina", {"steps": 1, "step_seconds": 0, "tag": tag})
    assert (proxy.dropped, order.replayed) == (1, True)
    placed = [
        o.uuid for o in client.orders(resource="regina") if (o.context or {}).get("tag") == tag
    ]
    assert placed == [order.id]
    client.order(order.id).wait(timeout=60, progress=False)


def test_the_async_client_places_and_waits_too(stack: LiveStack, token: str) -> None:
    async def scenario() -> tuple[str, int]:
        async with AsyncClient(stack.base, token=token) as client:
            order = await client.place("regina", QUICK)
            done = await order.wait(timeout=60, progress=False)
            return done.status, len([e async for e in order.history()])

    status, events = asyncio.run(scenario())
    assert status == "completed" and events > 3


def cli(stack: LiveStack, token: str, *args: str) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "ASYNC_REST_URL": stack.base, "ASYNC_REST_TOKEN": token}
    return subprocess.run(
        [sys.executable, "-m", "async_rest_client", *args],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
    )


def test_the_command_line_places_waits_with_a_bar_and_prints_the_pizza(
    stack: LiveStack, token: str
) -> None:
    done = cli(stack, token, "place", "regina", "--context", '{"steps": 3}', "--wait")
    assert done.returncode == 0, done.stderr
    assert "/pizzeria/pizzas/" in done.stdout and "100%" in done.stderr


def test_the_command_line_exits_1_when_the_order_fails(stack: LiveStack, token: str) -> None:
    context = '{"fail_with": "No more ingredients"}'
    done = cli(stack, token, "place", "margherita", "--context", context, "--wait")
    assert (done.returncode, done.stdout) == (1, "")
    assert "OutOfIngredientsError" in done.stderr


def test_the_command_line_lists_an_order_s_history(
    stack: LiveStack, token: str, pizza: tuple[RemoteOrder, io.StringIO]
) -> None:
    done = cli(stack, token, "history", str(pizza[0].id))
    kinds = [line.split()[2] for line in done.stdout.splitlines()]
    assert (done.returncode, kinds[0], kinds[-1]) == (0, "Queued", "Completed")


def python_types(hint: Any) -> set[Any]:
    """The runtime types a model's annotation allows: ``int | None`` is {int, NoneType}."""
    origin = get_origin(hint)
    if origin is Literal:
        return {type(arg) for arg in get_args(hint)}
    if origin in (Union, UnionType):
        return set().union(*(python_types(arg) for arg in get_args(hint)))
    return {origin or hint}


SCHEMA_TYPES = {"string": str, "integer": int, "boolean": bool, "object": dict}
SCHEMA_FORMATS = {"uuid": UUID, "date-time": datetime}


def check_model(model: type, name: str, components: dict[str, Any]) -> None:
    """The dataclass has exactly the component's properties, each of a compatible type."""
    component = components[name]
    fields = {f.name: f for f in dataclasses.fields(model)}
    assert set(fields) == set(component["properties"]), name
    hints = get_type_hints(model)
    for prop, spec in component["properties"].items():
        if len(spec.get("allOf", ())) == 1:  # a nullable nested object: allOf of one $ref
            spec = {**spec, **spec["allOf"][0]}
        allowed = python_types(hints[prop])
        optional = prop not in component.get("required", [])
        has_default = fields[prop].default is not dataclasses.MISSING
        assert optional == has_default, f"{name}.{prop}: required in one, not the other"
        if "$ref" in spec:
            target = spec["$ref"].rsplit("/", 1)[-1]
            if "enum" in components[target]:
                assert allowed == {str}, f"{name}.{prop}"
                assert set(get_args(hints[prop])) == set(components[target]["enum"])
            else:
                nested = next(t for t in allowed if dataclasses.is_dataclass(t))
                check_model(nested, target, components)  # type: ignore[arg-type]
            continue
        expected = SCHEMA_FORMATS.get(spec.get("format"), SCHEMA_TYPES[spec["type"]])
        expected_set = {expected} | ({type(None)} if spec.get("nullable") or optional else set())
        assert allowed == expected_set, f"{name}.{prop}: {allowed} vs {expected_set}"


def test_the_client_models_agree_with_the_servers_openapi_schema(stack: LiveStack) -> None:
    schema = stack.request("GET", "/async/schema/?format=json").body
    check_model(Order, "Order", schema["components"]["schemas"])
