#!/usr/bin/env python3
"""Matchmaking latency: `POST /matchmake` answered by one node alone (the in-process
directory) and by three nodes sharing a Redis (placement on the least-loaded node, two
times in three on another node, asked over pub/sub).

Builds release, starts the nodes (and a `redis-server` on a free loopback port for the
second setup), then sends `--requests` matchmaking requests one after another over one
kept-alive HTTP/1.1 connection to the first node, and prints p50/p90/p99/max per setup.
Each request reserves a seat (never taken; seats expire), and rooms hold `--capacity`
players, so a request now and then also starts a room. The figures are the client's
(Python's http.client included, tens of microseconds), on loopback. Bounded: every
process this starts is stopped on the way out.

    python3 benches/matchmake.py
    python3 benches/matchmake.py --requests 5000 --capacity 500

Standard library only; the three-node setup needs `redis-server` (`apt-get install
redis-server`).
"""

import argparse
import http.client
import json
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
SERVER = ROOT / "target" / "release" / "tickcast-server"


def free_port() -> int:
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port: int, seconds: float = 10.0) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"nothing listens on port {port} within {seconds} s")


def percentile(sorted_ms: list, fraction: float) -> float:
    return sorted_ms[min(len(sorted_ms) - 1, int(fraction * len(sorted_ms)))]


def measure(port: int, requests: int, warmup: int) -> tuple:
    """Latencies (ms, sorted) of `requests` matchmakings, and the nodes they went to."""
    connection = http.client.HTTPConnection("127.0.0.1", port, timeout=10)
    body = json.dumps({"kind": "arena"})
    headers = {"Content-Type": "application/json"}
    latencies, nodes = [], {}
    for index in range(warmup + requests):
        started = time.perf_counter()
        connection.request("POST", "/matchmake", body, headers)
        answer = connection.getresponse()
        payload = answer.read()
        elapsed_ms = (time.perf_counter() - started) * 1000
        if answer.status != 200:
            raise SystemExit(f"matchmake answered {answer.status}: {payload.decode(errors='replace')}")
        if index >= warmup:
            latencies.append(elapsed_ms)
            url = json.loads(payload)["ws_url"]
            nodes[url] = nodes.get(url, 0) + 1
    connection.close()
    return sorted(latencies), nodes


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--requests", type=int, default=2000)
    parser.add_argument("--warmup", type=int, default=100)
    parser.add_argument("--capacity", type=int, default=200, help="players a room holds")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "tickcast-server"], cwd=ROOT, check=True)
    children = []
    scratch = Path(tempfile.mkdtemp(prefix="tickcast-matchmake-"))

    def node(port: int, name: str, redis_url: str = "") -> None:
        command = [str(SERVER), "--bind", f"127.0.0.1:{port}", "--node-id", name,
                   "--room-capacity", str(args.capacity), "--npcs", "4"]
        if redis_url:
            command += ["--redis-url", redis_url]
        log = open(scratch / f"{name}.log", "w")
        children.append(subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT))
        wait_for_port(port)

    def stop_all() -> None:
        for child in reversed(children):
            if child.poll() is None:
                child.send_signal(signal.SIGTERM)
        for child in children:
            try:
                child.wait(timeout=5)
            except subprocess.TimeoutExpired:
                child.kill()
        children.clear()

    rows = []
    try:
        port = free_port()
        node(port, "solo")
        latencies, nodes = measure(port, args.requests, args.warmup)
        rows.append(("1 node, in process", latencies, nodes))
        stop_all()

        if shutil.which("redis-server") is None:
            print("redis-server is not installed: the three-node setup is skipped", file=sys.stderr)
        else:
            redis_port = free_port()
            children.append(subprocess.Popen(
                ["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "",
                 "--appendonly", "no", "--dir", str(scratch)],
                stdout=subprocess.DEVNULL))
            wait_for_port(redis_port)
            ports = [free_port() for _ in range(3)]
            for index, port in enumerate(ports):
                node(port, f"node-{index + 1}", f"redis://127.0.0.1:{redis_port}")
            latencies, nodes = measure(ports[0], args.requests, args.warmup)
            rows.append(("3 nodes on redis", latencies, nodes))
    finally:
        stop_all()
        shutil.rmtree(scratch, ignore_errors=True)

    print(f"\nPOST /matchmake, {args.requests} requests one after another over one connection "
          f"(after {args.warmup} warm-up), rooms of {args.capacity}")
    print(f"{'setup':<22} {'p50 ms':>8} {'p90 ms':>8} {'p99 ms':>8} {'max ms':>8}  placed on")
    for name, latencies, nodes in rows:
        spread = " / ".join(str(count) for count in sorted(nodes.values(), reverse=True))
        print(f"{name:<22} {percentile(latencies, 0.5):>8.3f} {percentile(latencies, 0.9):>8.3f} "
              f"{percentile(latencies, 0.99):>8.3f} {latencies[-1]:>8.3f}  {spread}")


if __name__ == "__main__":
    main()
