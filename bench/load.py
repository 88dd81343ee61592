"""Load test: many clients poll orders, with and without If-None-Match, while orders flow.

gunicorn (2 workers) on PostgreSQL + Redis with one Celery worker; wrk generates the polling
load; a thread places and polls orders meanwhile. Afterwards every order's stream is checked
complete (``manage.py orders verify --all``). Only 127.0.0.1 is targeted; every loop is
bounded in count and time.

Run: .venv/bin/python bench/load.py [--seconds 15] [--connections 32] [--rate 5]
"""

from __future__ import annotations

import argparse
import re
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from tests.e2e.stack import LiveStack, production_stack  # noqa: E402

LUA = """
local paths = {%(paths)s}
local etags = {%(etags)s}
local i = 0
request = function()
  i = i %% #paths + 1
  local headers = {["Authorization"] = "%(auth)s"}
  if %(conditional)s then headers["If-None-Match"] = etags[i] end
  return wrk.format("GET", paths[i], headers)
end
"""


def wrk(stack: LiveStack, script: Path, seconds: int, connections: int) -> dict[str, Any]:
    out = subprocess.run(
        ["wrk", "-t2", f"-c{connections}", f"-d{seconds}s", "--latency", "-s", str(script),
         stack.base],
        capture_output=True, text=True, timeout=seconds + 60, check=True,
    ).stdout  # fmt: skip

    def latency(label: str) -> str:
        found = re.search(rf"^\s+{label}%\s+(\S+)", out, re.M)
        return found.group(1) if found else "?"

    errors = re.search(r"Non-2xx or 3xx responses: (\d+)", out)
    socket_errors = re.search(r"Socket errors: (.*)", out)
    return {
        "rps": float(re.search(r"Requests/sec:\s+([\d.]+)", out).group(1)),  # type: ignore[union-attr]
        "p50": latency("50"),
        "p99": latency("99"),
        "errors": int(errors.group(1)) if errors else 0,
        "socket_errors": socket_errors.group(1) if socket_errors else "none",
    }


class OrderFlow(threading.Thread):
    """Places ``rate`` orders a second and polls each to its end, like a client."""

    def __init__(self, stack: LiveStack, rate: float, until: float) -> None:
        super().__init__(daemon=True)
        self.stack, self.rate, self.until = stack, rate, until
        self.placed: list[str] = []
        self.failures: list[str] = []

    def run(self) -> None:
        while time.monotonic() < self.until:
            answer = self.stack.request(
                "POST", "/async/regina/order/", {"context": {"steps": 5, "step_seconds": 0.02}}
            )
            if answer.status != 302:
                self.failures.append(f"POST {answer.status}")
            else:
                self.placed.append(answer.headers["Location"])
            time.sleep(1 / self.rate)

    def settle(self, timeout: float = 120) -> dict[str, int]:
        statuses: dict[str, int] = {}
        for url in self.placed:
            final, _ = self.stack.poll_until_done(url, timeout=timeout)
            key = f"{final.status} {final.body['status']}"
            statuses[key] = statuses.get(key, 0) + 1
        return statuses


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=int, default=15, help="per wrk run")
    parser.add_argument("--connections", type=int, default=32)
    parser.add_argument("--rate", type=float, default=5, help="orders placed per second")
    parser.add_argument("--polled", type=int, default=50, help="orders in the polled set")
    args = parser.parse_args()

    workdir = Path(tempfile.mkdtemp(prefix="load-"))
    env = {"DATABASE_CONN_MAX_AGE": "60", "ASYNC_REST_ORDER_RATE": "100000/min"}
    with production_stack(workdir, env) as stack:
        stack.start()
        # The polled set: orders already completed (stable ETags) and some still running.
        urls = [
            stack.request("POST", "/async/regina/order/", {"context": {"steps": 2}}).headers[
                "Location"
            ]
            for _ in range(args.polled)
        ]
        for url in urls:
            stack.poll_until_done(url)
        etags = [stack.request("GET", url).headers["ETag"] for url in urls]
        paths = [url.removeprefix(stack.base) for url in urls]

        results = {}
        flows = []
        for conditional in (False, True):
            script = workdir / f"poll-{conditional}.lua"
            script.write_text(
                LUA
                % {
                    "paths": ", ".join(f'"{p}"' for p in paths),
                    "etags": ", ".join("'" + e + "'" for e in etags),
                    "auth": stack.headers["Authorization"],
                    "conditional": "true" if conditional else "false",
                }
            )
            flow = OrderFlow(stack, args.rate, time.monotonic() + args.seconds)
            flow.start()
            results[conditional] = wrk(stack, script, args.seconds, args.connections)
            flow.join(timeout=args.seconds + 30)
            flows.append(flow)

        settled = [flow.settle() for flow in flows]
        verify = subprocess.run(
            [sys.executable, "manage.py", "orders", "verify", "--all"],
            cwd=ROOT, env=stack.env, capture_output=True, text=True, timeout=600,
        )  # fmt: skip

    print(f"wrk -t2 -c{args.connections} -d{args.seconds}s, gunicorn -w 2, 1 Celery worker,")
    print(f"PostgreSQL + Redis; {args.polled} orders polled; {args.rate}/s placed meanwhile.")
    print("| polling | requests/s | p50 | p99 | non-2xx/3xx | socket errors |")
    print("|---|---|---|---|---|---|")
    for conditional, r in results.items():
        label = "If-None-Match (304)" if conditional else "plain GET (201)"
        print(
            f"| {label} | {r['rps']:,.0f} | {r['p50']} | {r['p99']} | {r['errors']} "
            f"| {r['socket_errors']} |"
        )
    for flow, statuses in zip(flows, settled, strict=True):
        print(f"orders placed during a run: {len(flow.placed)}, ends: {statuses}, "
              f"POST failures: {len(flow.failures)}")  # fmt: skip
    print("verify:", (verify.stdout.strip().splitlines() or [verify.stderr.strip()])[-1])
    if verify.returncode or any(r["errors"] for r in results.values()):
        sys.exit(1)


if __name__ == "__main__":
    main()
