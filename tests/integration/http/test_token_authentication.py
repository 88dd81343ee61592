"""Token authentication with fixed SQL answers as DRF's: the same user, the same refusals."""

from __future__ import annotations

import pytest
from django.contrib.auth.models import User
from rest_framework.authtoken.models import Token
from rest_framework.test import APIClient


@pytest.fixture
def carol_token(db: None) -> Token:
    return Token.objects.create(user=User.objects.create_user("carol", email="c@example.org"))


def client_with(key: str) -> APIClient:
    client = APIClient()
    client.credentials(HTTP_AUTHORIZATION=f"Token {key}")
    return client


def test_a_valid_token_places_the_order_as_its_user(carol_token: Token, held: object) -> None:
    answer = client_with(carol_token.key).post("/async/held/order/", {}, format="json")
    order = client_with(carol_token.key).get(answer["Location"])
    assert (answer.status_code, order.status_code) == (302, 202)


def test_another_users_token_does_not_see_the_order(carol_token: Token, held: object) -> None:
    answer = client_with(carol_token.key).post("/async/held/order/", {}, format="json")
    dave = Token.objects.create(user=User.objects.create_user("dave"))
    assert client_with(dave.key).get(answer["Location"]).status_code == 404


def test_an_unknown_token_is_a_401_naming_the_scheme(db: None) -> None:
    answer = client_with("0" * 40).get("/async/orders/")
    assert (answer.status_code, answer["WWW-Authenticate"]) == (401, "Token")
    assert answer.json()["detail"] == "Invalid token."


def test_the_token_of_a_deactivated_user_is_refused_at_once(carol_token: Token) -> None:
    client = client_with(carol_token.key)
    assert client.get("/async/orders/").status_code == 200
    User.objects.filter(pk=carol_token.user_id).update(is_active=False)
    answer = client.get("/async/orders/")
    assert (answer.status_code, answer.json()["detail"]) == (401, "User inactive or deleted.")


def test_a_deleted_token_is_refused_at_once(carol_token: Token) -> None:
    client = client_with(carol_token.key)
    assert client.get("/async/orders/").status_code == 200
    Token.objects.filter(pk=carol_token.pk).delete()
    assert client.get("/async/orders/").status_code == 401


def test_the_request_sees_the_same_user_and_token_as_drfs(carol_token: Token) -> None:
    from rest_framework.authentication import TokenAuthentication as DRFs

    from api.authentication import TokenAuthentication

    ours = TokenAuthentication().authenticate_credentials(carol_token.key)
    theirs = DRFs().authenticate_credentials(carol_token.key)
    fields = [f.attname for f in User._meta.concrete_fields]
    assert [getattr(ours[0], f) for f in fields] == [getattr(theirs[0], f) for f in fields]
    assert (ours[1].key, ours[1].user_id, ours[1].created) == (
        theirs[1].key,
        theirs[1].user_id,
        theirs[1].created,
    )
