"""The receipt endpoints as a client sees them: ownership, not-ended, the public key set."""

from __future__ import annotations

from typing import Any

import pytest
from rest_framework.test import APIClient

from async_rest_client.receipts import verify_receipt
from orders.application.tracker import OrderTracker
from tests.integration.http.conftest import HeldLauncher
from tests.integration.http.test_order_api import assert_problem, order_url, place

KEYS = "/.well-known/async-rest-keys"


@pytest.fixture
def completed_url(alice: APIClient, instant: str, tracker: OrderTracker) -> str:
    return order_url(place(alice, instant, {"steps": 1}))


def key_set(client: APIClient) -> dict[str, Any]:
    return client.get(KEYS).json()


def test_an_ended_orders_receipt_verifies_with_the_published_keys(
    alice: APIClient, anonymous: APIClient, completed_url: str
) -> None:
    response = alice.get(completed_url + "receipt/")
    assert response.status_code == 200
    receipt = verify_receipt(response.json(), key_set(anonymous))
    state = alice.get(completed_url).json()
    assert (receipt.order_id, receipt.status, receipt.version) == (
        state["uuid"],
        "completed",
        state["version"],
    )
    assert receipt.ended_at == state["updated"]
    assert response["Link"] == f'<{KEYS}>; rel="jwks"'


def test_a_failed_orders_receipt_says_failed_and_names_no_result(
    alice: APIClient, anonymous: APIClient, instant: str, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, instant, {"fail_with": "burnt"}))
    receipt = verify_receipt(alice.get(url + "receipt/").json(), key_set(anonymous))
    assert (receipt.status, receipt.resource_url) == ("failed", "")


def test_a_cancelled_orders_receipt_says_cancelled(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    alice.post(url + "cancel/", {}, format="json")
    assert alice.get(url + "receipt/").json()["status"] == "cancelled"


def test_another_users_receipt_is_a_404(bob: APIClient, completed_url: str) -> None:
    assert_problem(bob.get(completed_url + "receipt/"), 404, "uuid")


def test_staff_get_anyones_receipt(staff: APIClient, completed_url: str) -> None:
    assert staff.get(completed_url + "receipt/").status_code == 200


def test_a_malformed_order_id_is_a_404(alice: APIClient, tracker: OrderTracker) -> None:
    assert_problem(alice.get("/async/orders/not-a-uuid/receipt/"), 404, "uuid")


def test_an_order_that_has_not_ended_is_a_409_naming_status(
    alice: APIClient, held: HeldLauncher, tracker: OrderTracker
) -> None:
    url = order_url(place(alice, "held", {}))
    response = alice.get(url + "receipt/")
    assert_problem(response, 409, "status")
    assert "queued" in response.json()["detail"]
    assert response["Retry-After"] == "1"


def test_the_key_set_is_public_even_when_anonymous_use_is_off(
    anonymous: APIClient, tracker: OrderTracker, settings: Any
) -> None:
    settings.ASYNC_REST = {**settings.ASYNC_REST, "ALLOW_ANONYMOUS": False}
    anonymous.credentials(HTTP_AUTHORIZATION="Token not-a-real-token")
    response = anonymous.get(KEYS)
    assert response.status_code == 200
    [key] = response.json()["keys"]
    assert (key["kty"], key["crv"], key["alg"]) == ("OKP", "Ed25519", "EdDSA")


def test_receipts_are_not_for_anonymous_callers_when_anonymous_use_is_off(
    anonymous: APIClient, completed_url: str, settings: Any
) -> None:
    settings.ASYNC_REST = {**settings.ASYNC_REST, "ALLOW_ANONYMOUS": False}
    response = anonymous.get(completed_url + "receipt/")
    assert response.status_code in (401, 403)
    assert response["Content-Type"] == "application/problem+json"


def test_the_openapi_schema_documents_the_receipt_and_its_keys(anonymous: APIClient) -> None:
    paths = anonymous.get("/async/schema/", HTTP_ACCEPT="application/json").json()["paths"]
    receipt = paths["/async/orders/{order_id}/receipt/"]["get"]
    assert set(receipt["responses"]) >= {"200", "404", "409"}
    assert "200" in paths[KEYS]["get"]["responses"]
