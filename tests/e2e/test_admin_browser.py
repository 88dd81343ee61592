"""The order admin in a real headless Chromium: sign in, filter, open a timeline, screenshot it.

Uses Debian's /usr/bin/chromium through Playwright (never ``playwright install``, which
downloads a browser of its own). Without that browser the test is skipped, and fails
under CI=true.
"""

from __future__ import annotations

import os
import re
import time
from pathlib import Path
from typing import Any
from uuid import UUID

import pytest
from django.contrib.auth.models import User

from orders.application.tracker import OrderTracker
from tests.services import ROOT, unavailable

pytestmark = pytest.mark.services

CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
]
# The README's picture; refreshed only when asked, so that a test run leaves the tree clean.
README_SCREENSHOT = ROOT / "docs" / "img" / "admin-timeline.png"
REFRESH_SCREENSHOT = os.environ.get("ASYNC_REST_REFRESH_SCREENSHOT", "") == "1"
PASSWORD = "a-long-browser-test-password"
TRACEBACK = """Traceback (most recent call last):
  File "/srv/app/orders/helpers.py", line 112, in run
    return body(handle)
  File "/srv/app/examples/pizzeria/tasks.py", line 31, in cook_pizza
    take_ingredients(order.context)
  File "/srv/app/examples/pizzeria/tasks.py", line 18, in take_ingredients
    raise OutOfIngredientsError("No more ingredients")
examples.pizzeria.tasks.OutOfIngredientsError: No more ingredients"""


def place_orders(tracker: OrderTracker) -> UUID:
    """A completed, a running and a failed order (with a retry); returns the failed one."""
    done = tracker.place("regina", {"steps": 4}, owner=None)
    tracker.start(done, "worker-1@pizzeria")
    for step in (1, 2, 3, 4):
        tracker.progress(done, step * 25, "The pizza is in the oven", step, 4)
    tracker.complete(done, "/pizzeria/pizzas/1/")
    running = tracker.place("regina", {"steps": 10}, owner=None)
    tracker.start(running, "worker-2@pizzeria")
    tracker.progress(running, 30, "The pizza is in the oven", 3, 10)

    failed = tracker.place("margherita", {"steps": 5, "fail_with": "No more ingredients"}, None)
    # Real gaps between events, so that the chart and the gaps column have something to show.
    tracker.dispatch(failed, "d-1")
    time.sleep(0.15)
    tracker.start(failed, "worker-1@pizzeria", "d-1")
    for percent in (20, 40):
        time.sleep(0.2)
        tracker.progress(failed, percent, "Kneading the dough")
    time.sleep(0.1)
    tracker.retry(failed, "The oven went cold")
    time.sleep(0.25)
    tracker.start(failed, "worker-2@pizzeria", "d-1")
    for percent in (20, 40, 60):
        time.sleep(0.2)
        tracker.progress(failed, percent, "Adding the toppings")
    time.sleep(0.3)
    tracker.fail(failed, "No more ingredients", "OutOfIngredientsError", TRACEBACK)
    return failed


@pytest.fixture
def browser() -> Any:
    if not CHROMIUM.exists():
        unavailable(f"{CHROMIUM} is not installed (apt-get install chromium)")
    try:
        from playwright.sync_api import sync_playwright
    except ImportError:
        unavailable("the playwright package is not installed (pip install -e .[dev])")
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), args=CHROMIUM_ARGS)
        yield launched
        launched.close()


def test_a_failed_orders_timeline_in_a_real_browser(
    live_server: Any,
    transactional_db: None,
    tracker: OrderTracker,
    request: pytest.FixtureRequest,
    tmp_path: Path,
) -> None:
    # Everything that touches the database is done before the browser starts: Playwright's
    # sync API runs an event loop in this thread, where Django refuses ORM calls.
    User.objects.create_superuser("ada", "ada@example.com", PASSWORD)
    failed = place_orders(tracker)
    expected = [(e.originator_version, type(e).__name__) for e in tracker.order_events(failed)]
    browser = request.getfixturevalue("browser")

    page = browser.new_page(viewport={"width": 1200, "height": 900})
    page.goto(f"{live_server.url}/admin/login/?next=/admin/projections/ordersummary/")
    page.fill("#id_username", "ada")
    page.fill("#id_password", PASSWORD)
    page.click("input[type=submit]")
    page.wait_for_url("**/admin/projections/ordersummary/")

    page.click("#changelist-filter a[href='?status=failed']")
    page.wait_for_url("**/admin/projections/ordersummary/?status=failed")
    badges = page.locator("#result_list td.field-status_column .order-badge").all_inner_texts()
    assert [b.strip().lower() for b in badges] == ["failed"]

    page.click(f"#result_list th.field-order_id a:text('{failed}')")
    # The list's filter comes along in ?_changelist_filters=, for the way back.
    page.wait_for_url(re.compile(rf"/admin/projections/ordersummary/{failed}/change/"))
    rows = page.locator("#order-timeline tr.order-timeline__row")
    shown = [
        (
            int(rows.nth(i).get_attribute("data-version") or 0),
            rows.nth(i).get_attribute("data-type"),
        )
        for i in range(rows.count())
    ]
    assert shown == expected

    traceback = page.locator("#order-timeline details.order-traceback pre")
    assert not traceback.is_visible()

    chart = page.locator("svg.order-chart")
    drawn = chart.locator("polyline").evaluate(
        "line => ({points: line.points.numberOfItems, length: line.getTotalLength()})"
    )
    box = chart.bounding_box()
    assert drawn["points"] >= len(expected) and drawn["length"] > 0
    assert box is not None and box["width"] > 300 and box["height"] > 100

    # The screenshot shows the order, not the admin's menu: fold the sidebar as a user would.
    page.click("#toggle-nav-sidebar")
    page.evaluate("window.scrollTo(0, document.querySelector('#content').offsetTop)")
    shot = README_SCREENSHOT if REFRESH_SCREENSHOT else tmp_path / "admin-timeline.png"
    page.screenshot(path=str(shot))
    assert shot.stat().st_size > 10_000

    page.click("#order-timeline details.order-traceback summary")
    assert traceback.is_visible()
