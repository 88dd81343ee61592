"""Token authentication as DRF's (``Authorization: Token <key>``), with one SQL query made once."""

from __future__ import annotations

from functools import lru_cache
from typing import Any

from django.db import connection
from django.db.models import Model
from django.utils.translation import gettext_lazy as _
from rest_framework import authentication, exceptions
from rest_framework.authtoken.models import Token


class TokenAuthentication(authentication.TokenAuthentication):
    """DRF's ``TokenAuthentication``: the same header, answers and objects, for less CPU.

    DRF's compiles ``Token.objects.select_related("user").get(key=...)`` on every
    request: more than half of a status GET with a token (``bench/profile_write.py``,
    docs/benchmarks.md). Here the SQL and the columns' converters are made once from the
    models, and the row becomes the same ``Token`` and user instances (``Model.from_db``),
    so permissions, ``request.user`` and ``request.auth`` see no difference. Nothing is
    cached between requests: a deleted token or a deactivated user is refused at once.
    """

    def authenticate_credentials(self, key: str) -> tuple[Any, Token]:
        query = _token_query(connection.vendor)
        with connection.cursor() as cursor:
            cursor.execute(query.sql, [key])
            row = cursor.fetchone()
        if row is None:
            raise exceptions.AuthenticationFailed(_("Invalid token."))
        values = query.convert(list(row))
        split = len(query.token_fields)
        token = Token.from_db(connection.alias, query.token_fields, values[:split])
        user = query.user_model.from_db(connection.alias, query.user_fields, values[split:])
        token.user = user  # what select_related("user") would have cached
        if not user.is_active:
            raise exceptions.AuthenticationFailed(_("User inactive or deleted."))
        return user, token


class _TokenQuery:
    """The token and its user in one fixed SELECT, and how to convert the columns read."""

    def __init__(self) -> None:
        quote = connection.ops.quote_name
        self.user_model: type[Model] = Token._meta.get_field("user").related_model
        token_meta, user_meta = Token._meta, self.user_model._meta
        token_columns = [f.get_col("t") for f in token_meta.concrete_fields]
        user_columns = [f.get_col("u") for f in user_meta.concrete_fields]
        self.token_fields = [f.attname for f in token_meta.concrete_fields]
        self.user_fields = [f.attname for f in user_meta.concrete_fields]
        select = (
            ", ".join(f"t.{quote(c.target.column)}" for c in token_columns)
            + ", "
            + ", ".join(f"u.{quote(c.target.column)}" for c in user_columns)
        )
        user_fk = token_meta.get_field("user")
        self.sql = (
            f"SELECT {select} FROM {quote(token_meta.db_table)} t"
            f" JOIN {quote(user_meta.db_table)} u"
            f" ON u.{quote(user_meta.pk.column)} = t.{quote(user_fk.column)}"
            f" WHERE t.{quote(token_meta.pk.column)} = %s"
        )
        self.converters = []
        for i, column in enumerate(token_columns + user_columns):
            found = connection.ops.get_db_converters(column) + column.get_db_converters(connection)
            if found:
                self.converters.append((i, found, column))

    def convert(self, values: list[Any]) -> list[Any]:
        for i, functions, column in self.converters:
            for function in functions:
                values[i] = function(values[i], column, connection)
        return values


@lru_cache(maxsize=4)
def _token_query(vendor: str) -> _TokenQuery:
    return _TokenQuery()
