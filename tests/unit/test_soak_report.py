"""The soak's verdicts (bench/soak_report.py): RSS growth and the exceptions its logs hold."""

from __future__ import annotations

from bench.soak_report import exceptions_logged, verdict

MIB = 1 << 20

CHAINED = """\
[12:00:00: CRITICAL/MainProcess] Couldn't ack 'x', reason:network:ConnectionError
Traceback (most recent call last):
  File "redis/connection.py", line 1, in connect
ConnectionRefusedError: [Errno 111] Connection refused

During handling of the above exception, another exception occurred:

Traceback (most recent call last):
  File "kombu/message.py", line 2, in ack
redis.exceptions.ConnectionError: Error 111 connecting to 127.0.0.1:6391.
[12:00:01: ERROR/ForkPoolWorker-1] Task pizzeria.cook_pizza[y] raised unexpected
Traceback (most recent call last):
  File "examples/pizzeria/tasks.py", line 26, in cook_pizza
examples.pizzeria.tasks.OutOfIngredientsError: soak: out of ingredients
"""


def test_steady_growth_is_flagged_as_maybe_unbounded() -> None:
    samples = [(100 + 5 * i) * MIB for i in range(20)]

    assert verdict(samples).startswith("maybe: +")


def test_a_short_peak_of_a_recycle_is_not_growth() -> None:
    samples = [200 * MIB] * 10 + [300 * MIB] + [210 * MIB] * 9

    assert verdict(samples) == "no"


def test_a_chained_traceback_counts_once_by_its_last_exception() -> None:
    assert exceptions_logged(CHAINED) == {"ConnectionError": 1, "OutOfIngredientsError": 1}
