"""The command line: place an order and wait for it with a bar; show, follow or cancel one.

``python -m async_rest_client place regina --context '{"steps": 5}' --wait`` places the order,
shows its progress bar on stderr and prints the URL of what it made on stdout, so that
``URL=$(python -m async_rest_client place … --wait)`` works in a script. The server and the
token come from ``--base-url``/``--token`` or ``ASYNC_REST_URL``/``ASYNC_REST_TOKEN``. The exit
status says how it went (``EXIT`` below, also in ``--help``).
"""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from collections.abc import Sequence
from typing import Any, NoReturn

from async_rest_client.client import Client, RemoteOrder
from async_rest_client.errors import (
    ClientError,
    OrderCancelled,
    OrderFailed,
    OrderTimeout,
)
from async_rest_client.models import HistoryEvent, Order

OK, FAILED, CANCELLED, TIMEOUT, PROBLEM = 0, 1, 2, 3, 4
EXIT = f"""exit status:
  {OK}  done (with --wait: the order completed)
  {FAILED}  the order failed (its message and error type on stderr); a receipt was refused
  {CANCELLED}  the order was cancelled
  {TIMEOUT}  --timeout passed before the order ended
  {PROBLEM}  a usage error, or the server refused the request or could not be reached
"""
DEFAULT_URL = "http://127.0.0.1:8000"


class Parser(argparse.ArgumentParser):
    """argparse, but a usage error exits with PROBLEM (argparse's own 2 means cancelled here)."""

    def error(self, message: str) -> NoReturn:
        self.print_usage(sys.stderr)
        self.exit(PROBLEM, f"{self.prog}: error: {message}\n")


def json_object(text: str) -> dict[str, Any]:
    try:
        value = json.loads(text)
    except ValueError as exc:
        raise argparse.ArgumentTypeError(f"not JSON: {exc}") from None
    if not isinstance(value, dict):
        raise argparse.ArgumentTypeError("must be a JSON object")
    return value


def build_parser() -> Parser:
    parser = Parser(
        prog="python -m async_rest_client",
        description="Place and follow async-rest orders.",
        epilog=EXIT,
        formatter_class=argparse.RawDescriptionHelpFormatter,
    )
    parser.add_argument(
        "--base-url",
        default=os.environ.get("ASYNC_REST_URL", DEFAULT_URL),
        help=f"the server (env ASYNC_REST_URL; default {DEFAULT_URL})",
    )
    parser.add_argument(
        "--token",
        default=os.environ.get("ASYNC_REST_TOKEN"),
        help="API token (env ASYNC_REST_TOKEN)",
    )
    commands = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    place = commands.add_parser("place", help="order a resource", epilog=EXIT)
    place.add_argument("resource", help="resource name, e.g. regina")
    place.add_argument("--context", type=json_object, default={}, help="a JSON object")
    place.add_argument("--idempotency-key", help="default: a new random key")
    _waiting_options(place, optional=True)

    wait = commands.add_parser("wait", help="wait for an order to end", epilog=EXIT)
    wait.add_argument("order", help="uuid or URL")
    _waiting_options(wait, optional=False)

    status = commands.add_parser("status", help="show an order")
    status.add_argument("order", help="uuid or URL")
    status.add_argument("--json", action="store_true", help="the whole order as JSON")

    history = commands.add_parser("history", help="list an order's events")
    history.add_argument("order", help="uuid or URL")
    history.add_argument("--json", action="store_true", help="JSON Lines")

    cancel = commands.add_parser("cancel", help="cancel an order")
    cancel.add_argument("order", help="uuid or URL")
    cancel.add_argument("--reason", help="recorded with the cancel request")

    check = commands.add_parser(
        "verify-receipt", help="check a receipt offline (exit 1 if refused)"
    )
    check.add_argument("receipt", help="a file: the answer of GET …/receipt/")
    check.add_argument("--keys", required=True, help="a file: GET /.well-known/async-rest-keys")
    check.add_argument("--stream", help="a file: `manage.py orders export <uuid>`")
    return parser


def _verify_receipt(args: argparse.Namespace) -> int:
    # Offline: no request is sent (receipts.py needs cryptography, imported only here).
    from async_rest_client import receipts

    try:
        with open(args.receipt, encoding="utf-8") as r, open(args.keys, encoding="utf-8") as k:
            receipt = receipts.verify_receipt(json.load(r), json.load(k))
        said = f"receipt OK: order {receipt.order_id} {receipt.status} at version {receipt.version}"
        if args.stream:
            count = receipts.verify_stream(receipt, receipts.read_export(args.stream))
            said += f"; stream OK: {count} events chain up to the head"
    except receipts.ReceiptInvalid as refused:
        print(f"receipt refused: {refused}", file=sys.stderr)
        return FAILED
    print(said)
    return OK


def _waiting_options(parser: argparse.ArgumentParser, optional: bool) -> None:
    if optional:
        parser.add_argument("--wait", action="store_true", help="wait until the order ends")
    parser.add_argument("--timeout", type=float, help="seconds to wait at most")
    parser.add_argument("--no-progress", action="store_true", help="no progress bar")


def _jsonable(value: Any) -> Any:
    return json.loads(json.dumps(dataclasses.asdict(value), default=str))


def summary(order: Order) -> str:
    """One line: uuid, resource, status, percent, message, items, result."""
    parts = [str(order.uuid), order.resource_name, order.status, f"{order.progress}%"]
    if order.message:
        parts.append(order.message)
    if order.current is not None and order.total is not None:
        parts.append(f"({order.current}/{order.total})")
    if order.cancel_requested and not order.ended:
        parts.append("cancel requested")
    if order.error and order.error.type:
        parts.append(f"[{order.error.type}]")
    if order.resource_url:
        parts.append(order.resource_url)
    return "  ".join(parts)


def event_line(event: HistoryEvent) -> str:
    fields = json.dumps(event.fields, ensure_ascii=False, separators=(",", ":"))
    when = event.timestamp.isoformat(timespec="milliseconds")
    return f"{event.version:>4}  {when}  {event.type:<12}  {fields}"


def _wait(order: RemoteOrder, args: argparse.Namespace) -> int:
    try:
        done = order.wait(timeout=args.timeout, progress=not args.no_progress)
    except OrderFailed as exc:
        print(f"failed ({exc.error_type or 'unknown error'}): {exc.message}", file=sys.stderr)
        return FAILED
    except OrderCancelled:
        print(f"cancelled: {order.url}", file=sys.stderr)
        return CANCELLED
    except OrderTimeout as exc:
        print(str(exc), file=sys.stderr)
        return TIMEOUT
    print(done.resource_url or done.links.self)
    return OK


def run(client: Client, args: argparse.Namespace) -> int:
    if args.command == "verify-receipt":
        return _verify_receipt(args)
    if args.command == "place":
        order = client.place(args.resource, args.context, idempotency_key=args.idempotency_key)
        if not args.wait:
            print(order.url)
            return OK
        print(f"order {order.url}", file=sys.stderr)
        return _wait(order, args)
    order = client.order(args.order)
    if args.command == "wait":
        return _wait(order, args)
    if args.command == "status":
        print(json.dumps(_jsonable(order.state)) if args.json else summary(order.state))
    elif args.command == "history":
        for event in order.history():
            print(json.dumps(_jsonable(event)) if args.json else event_line(event))
    elif args.command == "cancel":
        print(summary(order.cancel(args.reason)))
    return OK


def main(argv: Sequence[str] | None = None, **client_options: Any) -> int:
    """Run the command line; the exit status. ``client_options`` go to ``Client`` (tests)."""
    args = build_parser().parse_args(argv)
    try:
        with Client(args.base_url, token=args.token, **client_options) as client:
            return run(client, args)
    except (ClientError, ValueError, OSError) as exc:  # ValueError: not a uuid, or bad JSON
        print(f"error: {exc}", file=sys.stderr)
        return PROBLEM
