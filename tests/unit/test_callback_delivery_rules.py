"""Signing, backoff and address checks of deliveries (IP literals only: no DNS, no network)."""

from __future__ import annotations

import base64
import ipaddress
import json

import pytest
from django.test import override_settings
from standardwebhooks.webhooks import Webhook

from callbacks import delivery
from callbacks.addresses import UnsafeCallbackError, resolve
from callbacks.signing import CallbacksDisabledError, signed_headers
from config.settings import ASYNC_REST

NEW = "whsec_" + base64.b64encode(b"n" * 32).decode()
OLD = "whsec_" + base64.b64encode(b"o" * 32).decode()


def settings_with(**changes: object) -> override_settings:
    return override_settings(ASYNC_REST={**ASYNC_REST, **changes})


@pytest.mark.parametrize("secret", [NEW, OLD])
def test_a_receiver_knowing_either_secret_verifies_during_a_rotation(secret: str) -> None:
    body = json.dumps({"type": "order.completed"})
    with settings_with(CALLBACK_SECRETS=f"{NEW} {OLD}"):
        headers = signed_headers("order-5", body)
    assert Webhook(secret).verify(body, headers) == {"type": "order.completed"}


def test_both_signatures_are_sent_in_one_header() -> None:
    with settings_with(CALLBACK_SECRETS=f"{NEW},{OLD}"):
        headers = signed_headers("order-5", "{}")
    assert [s.split(",")[0] for s in headers["webhook-signature"].split(" ")] == ["v1", "v1"]


def test_a_receiver_with_another_secret_rejects_the_delivery() -> None:
    with settings_with(CALLBACK_SECRETS=NEW):
        headers = signed_headers("order-5", "{}")
    with pytest.raises(Exception, match="No matching signature"):
        Webhook(OLD).verify("{}", headers)


def test_nothing_is_signed_without_a_secret() -> None:
    with settings_with(CALLBACK_SECRETS=""), pytest.raises(CallbacksDisabledError):
        signed_headers("order-5", "{}")


@pytest.mark.parametrize("attempt", [1, 2, 3, 4])
def test_the_backoff_doubles_with_jitter_within_half_the_step(attempt: int) -> None:
    with settings_with(CALLBACK_BACKOFF=2, CALLBACK_BACKOFF_MAX=3600):
        waits = [delivery.backoff(attempt) for _ in range(50)]
    step = 2 * 2 ** (attempt - 1)
    assert all(step / 2 <= wait <= step for wait in waits)
    assert len(set(waits)) > 1


def test_the_backoff_is_capped() -> None:
    with settings_with(CALLBACK_BACKOFF=2, CALLBACK_BACKOFF_MAX=60):
        assert delivery.backoff(30) <= 60


@pytest.mark.parametrize(
    "url",
    [
        "http://127.0.0.1/hook",
        "http://10.0.0.8/hook",
        "http://192.168.1.1/hook",
        "http://169.254.169.254/latest/meta-data/",
        "http://[::1]/hook",
        "http://[::ffff:127.0.0.1]/hook",
        "http://0.0.0.0/hook",
        "http://100.64.0.1/hook",
    ],
)
def test_a_loopback_private_link_local_or_reserved_address_is_refused(url: str) -> None:
    with settings_with(CALLBACK_ALLOWED_NETWORKS=""), pytest.raises(UnsafeCallbackError):
        resolve(url)


def test_an_allowed_network_may_be_reached() -> None:
    with settings_with(CALLBACK_ALLOWED_NETWORKS="127.0.0.1/32"):
        assert resolve("http://127.0.0.1:9/hook") == [ipaddress.ip_address("127.0.0.1")]


def test_a_public_address_is_allowed() -> None:
    with settings_with(CALLBACK_ALLOWED_NETWORKS=""):
        assert resolve("https://93.184.215.14/hook") == [ipaddress.ip_address("93.184.215.14")]


def test_an_attempt_connects_to_the_checked_address_with_the_original_host_and_tls_name() -> None:
    target, host, extensions = delivery._pinned(
        "https://hooks.example.com:8443/in?x=1", ipaddress.ip_address("93.184.215.14")
    )
    assert (target, host, extensions) == (
        "https://93.184.215.14:8443/in?x=1",
        {"Host": "hooks.example.com:8443"},
        {"sni_hostname": "hooks.example.com"},
    )
