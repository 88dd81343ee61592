"""Erasure: `orders forget` on SQLite and PostgreSQL, the key destroyed, the chain intact."""

from __future__ import annotations

import io
import uuid
from typing import Any
from uuid import UUID

import pytest
from django.core.management import CommandError, call_command
from rest_framework.test import APIClient

from config.bootstrap import build_tracker
from orders.application.sealing import ContextErasedError
from orders.application.tracker import OrderTracker
from orders.domain.order import event_type
from orders.domain.sealing import is_sealed
from orders.task_api import OrderHandle
from projections.erasure import forget_order
from projections.models import OrderEvent, OrderSummary
from projections.projector import rebuild

SECRET = {"email": "ada@example.com", "steps": 2}


def run(*args: str) -> str:
    out = io.StringIO()
    call_command("orders", *args, stdout=out, stderr=io.StringIO())
    return out.getvalue()


def stored_states(tracker: OrderTracker, order_id: UUID) -> list[bytes]:
    """The bytes the event store holds for the order's events."""
    return [bytes(e.state) for e in tracker.recorder.select_events(order_id)]


def queued_row(order_id: UUID) -> dict[str, Any]:
    return OrderEvent.objects.get(order_id=order_id, type="Queued").data


@pytest.fixture
def placed(store_tracker: OrderTracker) -> UUID:
    order_id = store_tracker.place("regina", SECRET, owner=None)
    store_tracker.start(order_id, "oven-1")
    return order_id


@pytest.fixture
def forgotten(store_tracker: OrderTracker, placed: UUID) -> UUID:
    assert "forgot the context" in run("forget", str(placed))
    return placed


def test_a_new_context_is_stored_sealed_and_read_in_clear(
    store_tracker: OrderTracker, placed: UUID
) -> None:
    queued = store_tracker.order_events(placed)[0]
    assert is_sealed(queued.context)
    assert b"ada@example.com" not in b"".join(stored_states(store_tracker, placed))
    assert OrderSummary.objects.get(order_id=placed).context == SECRET
    assert queued_row(placed)["context"] == SECRET
    assert store_tracker.get_order(placed, version=1).context == SECRET


def test_forgetting_destroys_the_key_and_keeps_the_ciphertext_as_it_was(
    store_tracker: OrderTracker, placed: UUID
) -> None:
    before = stored_states(store_tracker, placed)
    assert store_tracker.sealer is not None
    assert isinstance(store_tracker.sealer.keys.lookup(placed), bytes)
    run("forget", str(placed))
    assert store_tracker.sealer.keys.lookup(placed) is False
    assert stored_states(store_tracker, placed)[: len(before)] == before
    assert is_sealed(store_tracker.order_events(placed)[0].context)


def test_a_forgotten_context_is_erased_in_the_summary_and_history(forgotten: UUID) -> None:
    summary = OrderSummary.objects.get(order_id=forgotten)
    assert (summary.context, summary.context_erased) == ({}, True)
    assert queued_row(forgotten)["context"] is None
    assert queued_row(forgotten)["context_erased"] is True


def test_a_forgotten_context_is_erased_at_every_replayed_version(
    store_tracker: OrderTracker, forgotten: UUID
) -> None:
    fresh = build_tracker(_url_of(store_tracker))  # nothing in memory: all from the store
    versions = range(1, len(fresh.order_events(forgotten)) + 1)
    states = [fresh.get_order(forgotten, version=v) for v in versions] + [
        fresh.get_order(forgotten)
    ]
    fresh.close()
    assert [(s.context, s.context_erased) for s in states] == [({}, True)] * len(states)


def test_forgetting_records_context_forgotten_without_personal_data(
    store_tracker: OrderTracker, forgotten: UUID
) -> None:
    last = store_tracker.order_events(forgotten)[-1]
    assert event_type(last) == "ContextForgotten"
    assert b"ada@example.com" not in b"".join(stored_states(store_tracker, forgotten))


def test_verify_all_finds_no_problem_after_forgetting(forgotten: UUID) -> None:
    assert run("verify", "--all").strip().endswith(": 0 problems")


def test_rebuilt_read_models_show_the_context_erased(
    store_tracker: OrderTracker, forgotten: UUID
) -> None:
    rebuild(store_tracker)
    summary = OrderSummary.objects.get(order_id=forgotten)
    assert (summary.context, summary.context_erased) == ({}, True)
    assert queued_row(forgotten)["context"] is None
    assert run("verify", "--all").strip().endswith(": 0 problems")


def test_forgetting_twice_records_one_event(store_tracker: OrderTracker, forgotten: UUID) -> None:
    assert "already forgotten" in run("forget", str(forgotten))
    types = [event_type(e) for e in store_tracker.order_events(forgotten)]
    assert types.count("ContextForgotten") == 1


def test_forgetting_an_unknown_order_is_a_clear_error(store_tracker: OrderTracker) -> None:
    unknown = uuid.uuid4()
    with pytest.raises(CommandError, match=f"no order {unknown}"):
        run("forget", str(unknown))


def test_an_ended_order_can_be_forgotten(store_tracker: OrderTracker, placed: UUID) -> None:
    store_tracker.complete(placed, "/pizzas/1/")
    run("forget", str(placed))
    assert store_tracker.get_order(placed).context_erased
    assert OrderSummary.objects.get(order_id=placed).status == "completed"


def test_a_context_stored_in_clear_before_sealing_is_hidden_once_forgotten(
    store_tracker: OrderTracker,
) -> None:
    sealer, store_tracker.sealer = store_tracker.sealer, None  # a stream written before
    old = store_tracker.place("regina", SECRET, owner=None)
    store_tracker.sealer = sealer
    assert store_tracker.order_events(old)[0].context == SECRET
    done = forget_order(old)
    assert not done.sealed
    assert store_tracker.get_order(old, version=1).context_erased
    assert OrderSummary.objects.get(order_id=old).context_erased
    assert queued_row(old)["context"] is None
    # What forget cannot do: the append-only stream still holds the plaintext.
    assert store_tracker.order_events(old)[0].context == SECRET
    assert run("verify", "--all").strip().endswith(": 0 problems")


def test_a_running_tasks_handle_refuses_a_context_forgotten_meanwhile(
    store_tracker: OrderTracker, placed: UUID
) -> None:
    handle = OrderHandle(placed, store_tracker)
    assert handle.context["email"] == "ada@example.com"
    forget_order(placed)
    handle.refresh()
    with pytest.raises(ContextErasedError):
        handle.context  # noqa: B018


def test_a_worker_holding_the_context_cannot_write_it_back_after_a_forget(
    store_tracker: OrderTracker, placed: UUID
) -> None:
    # Another process's tracker on the same store, which has the context in memory.
    worker = build_tracker(_url_of(store_tracker))
    assert worker.get_order(placed).context == SECRET
    forget_order(placed)
    saved = worker.progress(placed, 50)  # loses the race, catches up, then writes
    worker.close()
    assert saved.context_erased
    summary = OrderSummary.objects.get(order_id=placed)
    assert (summary.progress, summary.context, summary.context_erased) == (50, {}, True)


def _url_of(tracker: OrderTracker) -> str:
    env = tracker.env
    if "SQLITE_DBNAME" in env:
        return f"sqlite:///{env['SQLITE_DBNAME']}"
    return (
        f"postgres://{env['POSTGRES_USER']}@{env['POSTGRES_HOST']}:{env['POSTGRES_PORT']}"
        f"/{env['POSTGRES_DBNAME']}"
    )


def test_the_api_shows_a_forgotten_order_as_erased(forgotten: UUID) -> None:
    client = APIClient()
    status = client.get(f"/async/orders/{forgotten}/").json()
    assert (status["context"], status["context_erased"]) == (None, True)
    history = client.get(f"/async/orders/{forgotten}/history/").json()["results"]
    assert (history[0]["context"], history[0]["context_erased"]) == (None, True)
    assert history[-1]["type"] == "ContextForgotten"
    replayed = client.get(f"/async/orders/{forgotten}/?version=1").json()
    assert (replayed["context"], replayed["context_erased"]) == (None, True)


def test_the_api_shows_a_live_context_in_clear(placed: UUID) -> None:
    status = APIClient().get(f"/async/orders/{placed}/").json()
    assert (status["context"], status["context_erased"]) == (SECRET, False)


def test_the_history_command_shows_a_live_context_in_clear_and_a_forgotten_one_as_null(
    store_tracker: OrderTracker, placed: UUID
) -> None:
    assert '"email": "ada@example.com"' in run("history", str(placed))
    run("forget", str(placed))
    timeline = run("history", str(placed))
    assert "regina null" in timeline and "sealed:v1:" not in timeline and "ada@" not in timeline


def test_the_openapi_schema_documents_an_erased_context(transactional_db: None) -> None:
    response = APIClient().get("/async/schema/", HTTP_ACCEPT="application/json")
    order = response.json()["components"]["schemas"]["Order"]
    assert order["properties"]["context"]["nullable"] is True
    assert "context_erased" in order["required"]
    assert "orders forget" in order["properties"]["context_erased"]["description"]


def test_a_task_started_after_a_forget_fails_saying_the_context_was_erased(
    store_tracker: OrderTracker,
) -> None:
    from orders.task_api import order_task

    @order_task
    def body(order: OrderHandle) -> str:
        return f"/made/{order.context['steps']}/"

    order_id = store_tracker.place("regina", SECRET, owner=None)
    forget_order(order_id)
    with pytest.raises(ContextErasedError):
        body(str(order_id), None)
    failed = store_tracker.get_order(order_id)
    assert (failed.status, failed.error_type) == ("failed", "ContextErasedError")


def test_the_admin_shows_a_forgotten_context_as_erased_on_the_order_and_its_replay(
    forgotten: UUID, admin_client: Any
) -> None:
    page = admin_client.get(f"/admin/projections/ordersummary/{forgotten}/change/")
    replay = admin_client.get(f"/admin/projections/ordersummary/{forgotten}/replay/1/")
    assert (page.status_code, replay.status_code) == (200, 200)
    assert "erased (orders forget)" in page.content.decode()
    assert "ada@example.com" not in page.content.decode() + replay.content.decode()
