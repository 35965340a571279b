#!/usr/bin/env python3
"""Whole-program check of scale-out on a real Redis (run by .ci/scaleout.sh).

Three release `tickcast-server` nodes on different loopback ports share one
`redis-server`. 300 bots matchmake through node 1 alone, into rooms of 10: every bot
reaches its room, rooms exist on all three nodes, and no checksum mismatches. Then node 3
is killed with SIGKILL while the bots play: within the record's expiry `GET /rooms` no
longer lists it, new matchmaking avoids it, and the bots on nodes 1 and 2 finish cleanly
(the only bots that fail are the ones that were in node 3's rooms).

Bounded: every wait has a deadline, the swarm stops itself, and every process this
starts is stopped on the way out. Exits non-zero on any failed check.
"""

import json
import os
import signal
import socket
import subprocess
import sys
import time
import urllib.error
import urllib.request

BOTS = int(os.environ.get("SCALEOUT_BOTS", "300"))
CAPACITY = 10
DURATION = os.environ.get("SCALEOUT_DURATION", "20s")
OUT = os.environ.get("SCALEOUT_OUT", "target/scaleout")
# The directory's record expiry (server/src/rooms/redis.rs, EXPIRY), and the slack a
# loaded machine may need on top of it: a heartbeat's period plus a poll.
EXPIRY_S = 3.0
SLACK_S = 1.5
SERVER = "./target/release/tickcast-server"
BOTS_BIN = "./target/release/tickcast-bots"

children = []


def free_port():
    with socket.socket() as sock:
        sock.bind(("127.0.0.1", 0))
        return sock.getsockname()[1]


def wait_for_port(port, seconds=10):
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        try:
            socket.create_connection(("127.0.0.1", port), timeout=0.5).close()
            return
        except OSError:
            time.sleep(0.1)
    sys.exit(f"nothing listens on 127.0.0.1:{port} after {seconds} s")


def spawn(args, log):
    child = subprocess.Popen(args, stdout=log, stderr=subprocess.STDOUT, stdin=subprocess.DEVNULL)
    children.append(child)
    return child


def http(method, url, body=None):
    """(status, parsed JSON body) of one request."""
    data = None if body is None else json.dumps(body).encode()
    request = urllib.request.Request(url, data=data, method=method, headers={"Content-Type": "application/json"})
    try:
        with urllib.request.urlopen(request, timeout=5) as answer:
            return answer.status, json.loads(answer.read())
    except urllib.error.HTTPError as refused:
        return refused.code, json.loads(refused.read() or b"{}")


def rooms(port):
    status, body = http("GET", f"http://127.0.0.1:{port}/rooms")
    assert status == 200, (status, body)
    return body["rooms"]


def check(condition, message):
    if not condition:
        raise AssertionError(message)
    print(f"ok: {message}")


def main():
    os.makedirs(OUT, exist_ok=True)
    # A report left by an earlier run must not pass for this one's.
    if os.path.exists(f"{OUT}/bots.json"):
        os.remove(f"{OUT}/bots.json")
    redis_port = free_port()
    redis_log = open(f"{OUT}/redis.log", "w")
    spawn(["redis-server", "--port", str(redis_port), "--bind", "127.0.0.1", "--save", "", "--appendonly", "no",
           "--dir", OUT], redis_log)
    wait_for_port(redis_port)
    redis_url = f"redis://127.0.0.1:{redis_port}"

    ports = [free_port() for _ in range(3)]
    names = [f"node-{index + 1}" for index in range(3)]
    nodes = []
    for port, name in zip(ports, names):
        log = open(f"{OUT}/{name}.log", "w")
        nodes.append(spawn([SERVER, "--bind", f"127.0.0.1:{port}", "--redis-url", redis_url, "--node-id", name,
                            "--room-capacity", str(CAPACITY), "--max-connections-per-ip", str(BOTS + 50),
                            "--stats-json", f"{OUT}/{name}.json"], log))
    for port in ports:
        wait_for_port(port)
    ws_url = {name: f"ws://127.0.0.1:{port}/ws" for name, port in zip(names, ports)}
    # A node binds its port before it registers: wait for all three in the directory.
    deadline = time.monotonic() + 10
    while True:
        listed_nodes = {room["node"] for room in rooms(ports[0])}
        if listed_nodes == set(names) or time.monotonic() > deadline:
            break
        time.sleep(0.1)
    check(listed_nodes == set(names), f"every node is registered: {sorted(listed_nodes)}")

    swarm = spawn(["timeout", "180", BOTS_BIN, "--matchmake", f"http://127.0.0.1:{ports[0]}", "--bots", str(BOTS),
                   "--duration", DURATION, "--ramp", "3s", "--json", f"{OUT}/bots.json"],
                  open(f"{OUT}/bots.log", "w"))

    # Every bot reaches its room: the directory counts them all, over all three nodes.
    deadline = time.monotonic() + 30
    while True:
        listed = [room for room in rooms(ports[1]) if room["room_id"] != "default"]
        seated = sum(room["clients"] for room in listed)
        if seated >= BOTS or time.monotonic() > deadline:
            break
        time.sleep(0.5)
    check(seated == BOTS, f"{seated} of {BOTS} bots are in rooms")
    per_node = {name: [room for room in listed if room["node"] == name] for name in names}
    spread = {name: (len(held), sum(room["clients"] for room in held)) for name, held in per_node.items()}
    check(all(count > 0 for count, _ in spread.values()), f"rooms on every node (rooms, bots): {spread}")
    check(all(room["clients"] <= CAPACITY for room in listed), f"no room over its capacity of {CAPACITY}")
    victims = spread[names[2]][1]

    # SIGKILL node 3: no goodbye, its record just stops being refreshed.
    killed_at = time.monotonic()
    nodes[2].send_signal(signal.SIGKILL)
    nodes[2].wait()
    while any(room["node"] == names[2] for room in rooms(ports[0])):
        if time.monotonic() - killed_at > EXPIRY_S + SLACK_S:
            raise AssertionError(f"node 3 is still listed {EXPIRY_S + SLACK_S} s after SIGKILL")
        time.sleep(0.1)
    gone_s = time.monotonic() - killed_at
    check(gone_s <= EXPIRY_S + SLACK_S, f"node 3 left the directory {gone_s:.1f} s after SIGKILL")
    # New matchmaking, through either live node, avoids it.
    for index in range(20):
        status, placement = http("POST", f"http://127.0.0.1:{ports[index % 2]}/matchmake", {"kind": "arena"})
        assert status == 200, (status, placement)
        assert placement["ws_url"] != ws_url[names[2]], placement
    check(True, "20 new placements, none on node 3")

    swarm.wait()
    report = json.load(open(f"{OUT}/bots.json"))
    check(report["bots_connected"] == BOTS, f"{report['bots_connected']} of {BOTS} bots got a welcome")
    check(report["checksum_mismatches"] == 0 and report["mirror_errors"] == 0,
          f"{report['checksum_mismatches']} checksum mismatches, {report['mirror_errors']} mirror errors over "
          f"{report['checksums_verified']} verified checksums")
    by_node = {}
    for room in report["rooms"]:
        by_node.setdefault(room["ws_url"], 0)
        by_node[room["ws_url"]] += room["bots"]
    check(set(by_node) == set(ws_url.values()), f"the bots played on every node: {by_node}")
    check(by_node[ws_url[names[2]]] == victims, f"{victims} bots were on node 3")
    check(report["bots_failed"] == victims,
          f"exactly the bots on node 3 failed ({report['bots_failed']}: {report['failures'][:2]}); "
          f"the {BOTS - victims} on nodes 1 and 2 finished cleanly")
    print(f"matchmaking as the bots saw it (through node 1, 3 nodes on redis): "
          f"p50 {report['matchmake_ms']['p50']:.2f} ms, p99 {report['matchmake_ms']['p99']:.2f} ms")

    # The survivors stop cleanly on SIGTERM and leave the directory.
    for node in nodes[:2]:
        node.send_signal(signal.SIGTERM)
    for node, name in zip(nodes[:2], names):
        check(node.wait(timeout=10) == 0, f"{name} stopped cleanly")


if __name__ == "__main__":
    try:
        main()
    except AssertionError as failure:
        print(f"FAIL: {failure}")
        for name in ["node-1", "node-2", "node-3", "bots"]:
            path = f"{OUT}/{name}.log"
            if os.path.exists(path):
                print(f"--- {path} (tail)")
                print("".join(open(path).readlines()[-8:]), end="")
        sys.exit(1)
    finally:
        for child in reversed(children):
            if child.poll() is None:
                child.kill()
                child.wait()
