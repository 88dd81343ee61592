"""The order admin through Django's test client: list, filters, search, timeline, replay, re-run."""

from __future__ import annotations

import re
from collections.abc import Iterator
from datetime import datetime, timedelta
from typing import Any
from uuid import UUID, uuid4

import pytest
from django.contrib.auth.models import User
from django.test import Client
from django.utils import timezone
from eventsourcing.persistence import EventStore

from orders.application import dispatch
from orders.application.tracker import OrderTracker
from projections.admin import formatting, listing, order_admin
from projections.models import OrderSummary

pytestmark = pytest.mark.django_db

LIST = "/admin/projections/ordersummary/"


def change_url(order_id: UUID) -> str:
    return f"{LIST}{order_id}/change/"


def replay_url(order_id: UUID, version: int) -> str:
    return f"{LIST}{order_id}/replay/{version}/"


def listed_ids(response: Any) -> list[str]:
    """The order ids in the list's rows, in the order shown."""
    return re.findall(
        r'<th class="field-order_id"><a href="[^"]+">([0-9a-f-]{36})</a>', html(response)
    )


def midnight() -> datetime:
    """Today at midnight, aware, as the admin's own date filter links write it."""
    return timezone.localtime().replace(hour=0, minute=0, second=0, microsecond=0)


def html(response: Any) -> str:
    """The page's HTML; a page that did not answer 200 fails the test that reads it."""
    assert response.status_code == 200, f"answered {response.status_code}"
    return response.content.decode()


def timeline_rows(response: Any) -> list[tuple[int, str]]:
    return [
        (int(version), kind)
        for version, kind in re.findall(r'data-version="(\d+)" data-type="(\w+)"', html(response))
    ]


@pytest.fixture
def staff_client(client: Client) -> Client:
    """A staff user without any model permission: staff read orders, as in the API."""
    client.force_login(User.objects.create_user("sam", is_staff=True))
    return client


@pytest.fixture
def gone() -> Iterator[str]:
    """A resource registered while its order is placed, then unregistered."""
    dispatch.register("gone", print)
    yield "gone"
    dispatch.unregister("gone")


def completed_order(tracker: OrderTracker, owner: str | None = None) -> UUID:
    order_id = tracker.place("regina", {"steps": 2}, owner=owner)
    tracker.start(order_id, "worker-1")
    tracker.progress(order_id, 50, "The pizza is in the oven", 1, 2)
    tracker.complete(order_id, "/pizzeria/pizzas/1/")
    return order_id


def failed_order(tracker: OrderTracker) -> UUID:
    order_id = tracker.place("margherita", {"fail_with": "No more ingredients"}, owner=None)
    tracker.start(order_id, "worker-2")
    tracker.progress(order_id, 30, "Kneading")
    tracker.fail(
        order_id,
        "No more ingredients",
        "OutOfIngredientsError",
        'Traceback (most recent call last):\n  File "tasks.py", line 3\nOutOfIngredientsError',
    )
    return order_id


# ---------------------------------------------------------------------------- list


def test_the_list_shows_each_status_as_a_coloured_badge(
    tracker: OrderTracker, admin_client: Client
) -> None:
    completed_order(tracker)
    failed_order(tracker)
    page = html(admin_client.get(LIST))
    assert '<span class="order-badge order-badge--completed">completed</span>' in page
    assert '<span class="order-badge order-badge--failed">failed</span>' in page


def test_the_list_shows_progress_as_a_bar(tracker: OrderTracker, admin_client: Client) -> None:
    order_id = tracker.place("regina", {}, owner=None)
    tracker.start(order_id, "w")
    tracker.progress(order_id, 40)
    page = html(admin_client.get(LIST))
    assert 'role="progressbar"' in page
    assert '<span class="order-bar__fill" style="width: 40%"></span>' in page


def test_the_list_shows_newest_orders_first(tracker: OrderTracker, admin_client: Client) -> None:
    first = tracker.place("regina", {}, owner=None)
    second = tracker.place("regina", {}, owner=None)
    assert listed_ids(admin_client.get(LIST)) == [str(second), str(first)]


def test_the_list_names_the_owner(tracker: OrderTracker, admin_client: Client) -> None:
    alice = User.objects.create_user("alice")
    completed_order(tracker, owner=str(alice.pk))
    assert f'alice <span class="order-muted">#{alice.pk}</span>' in html(admin_client.get(LIST))


def test_the_list_shows_how_long_an_ended_order_took(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = completed_order(tracker)
    summary = OrderSummary.objects.get(order_id=order_id)
    took = formatting.format_duration(summary.updated - summary.created)
    assert f'<td class="field-duration_column">{took}</td>' in html(admin_client.get(LIST))


def test_filtering_by_status_lists_only_orders_with_that_status(
    tracker: OrderTracker, admin_client: Client
) -> None:
    completed_order(tracker)
    failed = failed_order(tracker)
    assert listed_ids(admin_client.get(LIST, {"status": "failed"})) == [str(failed)]


def test_filtering_by_resource_lists_only_that_resource(
    tracker: OrderTracker, admin_client: Client
) -> None:
    completed_order(tracker)
    failed = failed_order(tracker)
    assert listed_ids(admin_client.get(LIST, {"resource_name": "margherita"})) == [str(failed)]


def test_the_resource_filter_offers_every_resource_that_has_orders(
    tracker: OrderTracker, admin_client: Client
) -> None:
    completed_order(tracker)
    failed_order(tracker)
    tracker.place("calzone", {}, owner=None)
    offered = re.findall(r'href="\?resource_name=(\w+)"', html(admin_client.get(LIST)))
    assert offered == ["calzone", "margherita", "regina"]


def test_filtering_by_date_leaves_out_orders_created_outside_the_range(
    tracker: OrderTracker, admin_client: Client
) -> None:
    completed_order(tracker)
    last_week = midnight() - timedelta(days=7)
    response = admin_client.get(
        LIST, {"created__gte": str(last_week), "created__lt": str(last_week + timedelta(days=1))}
    )
    assert listed_ids(response) == []


def test_filtering_by_date_keeps_orders_created_today(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = completed_order(tracker)
    today = midnight()
    response = admin_client.get(
        LIST, {"created__gte": str(today), "created__lt": str(today + timedelta(days=1))}
    )
    assert listed_ids(response) == [str(order_id)]


def test_searching_a_whole_uuid_finds_that_order_only(
    tracker: OrderTracker, admin_client: Client
) -> None:
    wanted = completed_order(tracker)
    completed_order(tracker)
    assert listed_ids(admin_client.get(LIST, {"q": str(wanted)})) == [str(wanted)]


def test_searching_words_of_the_message_finds_the_order(
    tracker: OrderTracker, admin_client: Client
) -> None:
    completed_order(tracker)
    failed = failed_order(tracker)
    assert listed_ids(admin_client.get(LIST, {"q": "ingredients"})) == [str(failed)]


def test_past_the_count_cap_the_list_says_more_than(
    tracker: OrderTracker, admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing.CappedCountPaginator, "cap", 2)
    for _ in range(3):
        tracker.place("regina", {}, owner=None)
    assert "more than 2 orders" in html(admin_client.get(LIST))


def test_a_page_past_the_count_cap_still_lists_its_orders(
    tracker: OrderTracker, admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.setattr(listing.CappedCountPaginator, "cap", 2)
    monkeypatch.setattr(order_admin.OrderSummaryAdmin, "list_per_page", 1)
    oldest = tracker.place("regina", {}, owner=None)
    for _ in range(3):
        tracker.place("regina", {}, owner=None)
    assert listed_ids(admin_client.get(LIST, {"p": 4})) == [str(oldest)]


def forbid_event_store_reads(tracker: OrderTracker, monkeypatch: pytest.MonkeyPatch) -> None:
    """From now on any read of the event store fails the test, by whatever path it comes.

    Patched on the classes, not on one module's name: the tracker's queries, the library's
    event store (every ``tracker.events.get``, whichever tracker holds it) and the
    recorder's selects all raise.
    """

    def read(*args: Any, **kwargs: Any) -> Any:
        raise AssertionError("the event store was read")

    queries = ("get_order", "version_at", "order_events", "event_batches", "all_events")
    for name in (*queries, "last_position"):
        monkeypatch.setattr(OrderTracker, name, read)
    monkeypatch.setattr(EventStore, "get", read)
    for name in ("select_events", "select_notifications", "max_notification_id"):
        monkeypatch.setattr(type(tracker.recorder), name, read)


def test_the_list_and_the_order_page_never_read_the_event_store(
    tracker: OrderTracker, admin_client: Client, monkeypatch: pytest.MonkeyPatch
) -> None:
    order_id = failed_order(tracker)
    forbid_event_store_reads(tracker, monkeypatch)
    codes = [admin_client.get(LIST).status_code, admin_client.get(change_url(order_id)).status_code]
    assert codes == [200, 200]


# ---------------------------------------------------------------------- order page


def test_the_order_page_shows_its_events_in_version_order(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = failed_order(tracker)
    assert timeline_rows(admin_client.get(change_url(order_id))) == [
        (1, "Queued"),
        (2, "Started"),
        (3, "Progressed"),
        (4, "Failed"),
    ]


def test_the_order_page_shows_the_gap_since_the_previous_event(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = completed_order(tracker)
    gaps = re.findall(
        r'<td class="order-timeline__gap">([^<]*)</td>',
        html(admin_client.get(change_url(order_id))),
    )
    assert [gap.startswith("+") for gap in gaps] == [False, True, True, True]


def test_a_failure_shows_its_message_with_the_traceback_folded_away(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = failed_order(tracker)
    page = html(admin_client.get(change_url(order_id)))
    assert re.search(
        r'<div class="order-failure">No more ingredients</div>.*?<details class="order-traceback">'
        r"<summary>Traceback \(3 lines\)</summary><pre>Traceback \(most recent call last\):",
        page,
        re.DOTALL,
    )


def test_the_order_page_draws_progress_against_time_as_inline_svg(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = completed_order(tracker)
    page = html(admin_client.get(change_url(order_id)))
    line = re.search(r'<polyline class="order-chart__line[^"]*" points="([^"]+)"/>', page)
    assert line is not None and len(line.group(1).split()) == 7  # 4 events, as steps


def test_each_event_links_to_the_state_replayed_at_its_version(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = completed_order(tracker)
    page = html(admin_client.get(change_url(order_id)))
    assert [f'href="{replay_url(order_id, v)}"' in page for v in (1, 2, 3, 4)] == [True] * 4


def test_the_order_page_has_no_save_button(tracker: OrderTracker, admin_client: Client) -> None:
    order_id = completed_order(tracker)
    page = html(admin_client.get(change_url(order_id)))
    assert 'name="_save"' not in page and 'name="_continue"' not in page


def test_an_order_cannot_be_changed_by_posting_its_form(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = completed_order(tracker)
    response = admin_client.post(change_url(order_id), {"status": "queued", "progress": 0})
    assert (response.status_code, OrderSummary.objects.get(order_id=order_id).status) == (
        403,
        "completed",
    )


def test_orders_cannot_be_added_or_deleted_from_the_admin(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = completed_order(tracker)
    codes = [
        admin_client.get(f"{LIST}add/").status_code,
        admin_client.post(f"{LIST}{order_id}/delete/", {"post": "yes"}).status_code,
    ]
    assert codes == [403, 403]


# -------------------------------------------------------------------------- replay


def test_the_replay_shows_the_state_right_after_that_event(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = completed_order(tracker)
    page = html(admin_client.get(replay_url(order_id, 3)))
    state = dict(
        re.findall(
            r'<tr data-field="(\w+)"><th scope="row">\w+</th><td[^>]*><code>([^<]*)</code>', page
        )
    )
    assert (state["status"], state["progress"], state["version"]) == ("running", "50", "3")


def test_the_replay_highlights_what_that_event_changed(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = completed_order(tracker)
    page = html(admin_client.get(replay_url(order_id, 4)))
    changed = re.findall(
        r'<tr data-field="(\w+)"><th scope="row">\w+</th><td class="order-state--changed">', page
    )
    assert set(changed) >= {"status", "progress", "resource_url", "version"}


def test_the_replay_of_a_version_the_order_does_not_have_is_a_404(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = completed_order(tracker)
    codes = [admin_client.get(replay_url(order_id, v)).status_code for v in (0, 5)]
    assert codes == [404, 404]


def test_the_replay_of_an_unknown_order_is_a_404(
    tracker: OrderTracker, admin_client: Client
) -> None:
    assert admin_client.get(replay_url(uuid4(), 1)).status_code == 404


# -------------------------------------------------------------------------- re-run


def rerun(client: Client, *order_ids: UUID) -> Any:
    return client.post(
        LIST,
        {"action": "rerun", "_selected_action": [str(o) for o in order_ids]},
        follow=True,
    )


def test_re_running_places_a_new_order_with_the_same_resource_context_and_owner(
    tracker: OrderTracker, admin_client: Client
) -> None:
    order_id = failed_order(tracker)
    rerun(admin_client, order_id)
    new = OrderSummary.objects.exclude(order_id=order_id).get()
    assert (new.resource_name, new.context, new.owner, new.status) == (
        "margherita",
        {"fail_with": "No more ingredients"},
        None,
        "queued",
    )


def test_re_running_says_how_many_orders_were_placed(
    tracker: OrderTracker, admin_client: Client
) -> None:
    response = rerun(admin_client, completed_order(tracker), failed_order(tracker))
    assert "Placed 2 new orders" in html(response)


def test_re_running_reports_a_resource_that_is_no_longer_registered(
    tracker: OrderTracker, admin_client: Client, gone: str
) -> None:
    order_id = tracker.place(gone, {}, owner=None)
    dispatch.unregister(gone)
    response = rerun(admin_client, order_id)
    assert "1 order was not re-run: resource &#x27;gone&#x27; is no longer registered." in html(
        response
    )


def test_re_running_an_unregistered_resource_places_nothing(
    tracker: OrderTracker, admin_client: Client, gone: str
) -> None:
    order_id = tracker.place(gone, {}, owner=None)
    dispatch.unregister(gone)
    rerun(admin_client, order_id)
    assert OrderSummary.objects.count() == 1


@pytest.fixture
def rejected_context_order(tracker: OrderTracker) -> UUID:
    """An order whose read model holds a context the rules reject, as an old row may.

    The rejected value is the event store's own tag (an object of exactly ``_type_`` and
    ``_data_``): a NaN, the other choice, cannot be written, as the read model's JSON
    column refuses it on SQLite and PostgreSQL alike.
    """
    order_id = failed_order(tracker)
    tagged = {"pizza": {"_type_": "decimal", "_data_": "1.5"}}
    OrderSummary.objects.filter(order_id=order_id).update(context=tagged)
    return order_id


def test_re_running_reports_an_order_whose_context_is_rejected(
    admin_client: Client, rejected_context_order: UUID
) -> None:
    response = rerun(admin_client, rejected_context_order)
    assert (
        "1 order was not re-run, the context was rejected: context must not hold an object "
        "whose keys are exactly _type_ and _data_ (the event store&#x27;s own encoding)."
    ) in html(response)


def test_re_running_an_order_whose_context_is_rejected_places_nothing(
    admin_client: Client, rejected_context_order: UUID
) -> None:
    rerun(admin_client, rejected_context_order)
    assert OrderSummary.objects.count() == 1


# ---------------------------------------------------------------------------- who


def test_a_staff_user_without_model_permissions_sees_the_orders(
    tracker: OrderTracker, staff_client: Client
) -> None:
    order_id = completed_order(tracker)
    assert listed_ids(staff_client.get(LIST)) == [str(order_id)]


def test_a_signed_in_user_who_is_not_staff_is_sent_to_the_login_page(
    tracker: OrderTracker, client: Client
) -> None:
    client.force_login(User.objects.create_user("carla"))
    response = client.get(LIST)
    assert (response.status_code, response["Location"]) == (
        302,
        f"/admin/login/?next={LIST}",
    )


def test_a_user_who_is_not_staff_cannot_open_an_order_page(
    tracker: OrderTracker, client: Client
) -> None:
    order_id = completed_order(tracker)
    client.force_login(User.objects.create_user("carla"))
    assert client.get(change_url(order_id)).status_code == 302


def test_a_user_who_is_not_staff_cannot_open_a_replay(
    tracker: OrderTracker, client: Client
) -> None:
    order_id = completed_order(tracker)
    client.force_login(User.objects.create_user("carla"))
    assert client.get(replay_url(order_id, 1)).status_code == 302


def test_an_anonymous_visitor_is_sent_to_the_login_page(
    tracker: OrderTracker, client: Client
) -> None:
    order_id = completed_order(tracker)
    assert client.get(replay_url(order_id, 1))["Location"].startswith("/admin/login/")
