#!/usr/bin/env python3
"""Side by side with Colyseus: the drift scene served by Colyseus, then by tickcast, in one run.

The drift scene: N entities bouncing in a box at 100 units/s, a 60 Hz simulation, state
sent at 20 Hz, every client sees every entity, and the clients only watch (passive
Colyseus SDK clients; tickcast bots joined as spectators). Both servers get the same N,
the same number of clients and the same measured window on this machine's loopback, one
after the other. For each, the table gives the server's CPU (% of one core, from its
utime + stime over the window), the bytes each client received (WebSocket payload,
kbit/s) and the server's resident memory, and the ratios tickcast / Colyseus.

    python3 benches/peer.py                                  # 1000 entities, 100 clients, 20 s
    python3 benches/peer.py --entities 2000 --clients 200 --duration 30s --json target/peer/peer.json
    python3 benches/peer.py --only colyseus                  # one side only
    python3 benches/peer.py --colyseus-fields quantized      # Colyseus 0.18's quantized types
    python3 benches/peer.py --floor                          # and the send floor (examples/send_floor.rs)

Installs the Colyseus side (`npm ci --prefix benches/peer`) when its node_modules is
missing and builds the release binaries (skip with --no-build). Bounded: every phase has
a deadline, and every process it starts is stopped at the end, also on Ctrl-C. Needs
Node 20 or later and npm; otherwise the standard library only, like swarm.py.
"""

import argparse
import json
import os
import re
import select
import shutil
import signal
import socket
import subprocess
import sys
import threading
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
PEER = ROOT / "benches" / "peer"
CLOCK_TICKS = os.sysconf("SC_CLK_TCK")
# The targets, as tickcast / Colyseus ratios at 1 000 entities and 100 clients.
TARGET_CPU_RATIO = 1 / 5
TARGET_BYTES_RATIO = 1 / 8


def say(line: str) -> None:
    print(f"[peer] {line}", flush=True)


class Failure(Exception):
    """A phase could not finish; the message says why."""


def seconds_of(text: str) -> float:
    """`20s`, `1.5s`, `500ms`, `2m` or a bare number of seconds."""
    match = re.fullmatch(r"\s*([0-9]*\.?[0-9]+)\s*(ms|s|m)?\s*", text)
    if not match:
        raise argparse.ArgumentTypeError(f"not a duration: {text!r} (e.g. 20s, 500ms, 2m)")
    value, unit = float(match.group(1)), match.group(2) or "s"
    return value * {"ms": 0.001, "s": 1.0, "m": 60.0}[unit]


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def wait_for_port(port: int, child: "Child", seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        child.check_alive()
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise Failure(f"{child.name} did not listen on port {port} within {seconds:.0f} s; see {child.log_path}")


# --- processes ---------------------------------------------------------------------------

CHILDREN: list["Child"] = []


class Child:
    """A process this script started, in a session of its own so that stopping it stops
    anything it started too. Its stderr (and stdout unless piped) goes to a log file."""

    def __init__(self, name: str, command: list[str], log_path: Path, pipe_stdout: bool = False):
        self.name, self.log_path = name, log_path
        self.log = open(log_path, "w")
        self.log.write("$ " + " ".join(command) + "\n")
        self.log.flush()
        self.process = subprocess.Popen(
            command, cwd=ROOT, stdin=subprocess.DEVNULL,
            stdout=subprocess.PIPE if pipe_stdout else self.log, stderr=self.log,
            start_new_session=True, bufsize=0)
        self.pid = self.process.pid
        CHILDREN.append(self)

    def check_alive(self) -> None:
        if self.process.poll() is not None:
            raise Failure(f"{self.name} exited with status {self.process.returncode}; see {self.log_path}")

    def stop(self, grace: float = 10.0) -> None:
        """SIGTERM to its process group, then SIGKILL after `grace` seconds."""
        if self.process.poll() is None:
            try:
                os.killpg(self.pid, signal.SIGTERM)
            except ProcessLookupError:
                pass
            try:
                self.process.wait(timeout=grace)
            except subprocess.TimeoutExpired:
                pass
        try:  # whatever is left of its group (it started nothing, normally)
            os.killpg(self.pid, signal.SIGKILL)
        except (ProcessLookupError, PermissionError):
            pass
        if self.process.poll() is None:
            self.process.wait(timeout=5)
        if self.process.stdout:
            self.process.stdout.close()
        self.log.close()
        if self in CHILDREN:
            CHILDREN.remove(self)


def wait_for_exit(child: Child, seconds: float) -> None:
    try:
        child.process.wait(timeout=seconds)
    except subprocess.TimeoutExpired:
        raise Failure(f"{child.name} did not exit {seconds:.0f} s after its run; see {child.log_path}")


def stop_all() -> None:
    for child in list(reversed(CHILDREN)):
        try:
            child.stop(grace=5.0)
        except Exception as error:  # keep stopping the others
            print(f"[peer] could not stop {child.name} (pid {child.pid}): {error}", file=sys.stderr)


# --- /proc -------------------------------------------------------------------------------

def cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process (all its threads) has used so far."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / CLOCK_TICKS


def status_kib(pid: int, key: str) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith(key + ":"):
            return int(line.split()[1])
    return 0


def machine_busy_seconds() -> float:
    """CPU seconds this machine's CPUs have spent on anything but idle and I/O wait."""
    fields = [int(field) for field in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:9]]
    return (sum(fields) - fields[3] - fields[4]) / CLOCK_TICKS


def steal_seconds() -> float | None:
    """CPU seconds the hypervisor took from this machine so far (None if not reported)."""
    try:
        return int(Path("/proc/stat").read_text().split("\n", 1)[0].split()[8]) / CLOCK_TICKS
    except (OSError, IndexError, ValueError):
        return None


class Window:
    """The measured window over one server: CPU of the server and its clients at both
    edges, and the server's RSS sampled every 0.2 s in between."""

    def __init__(self, server_pid: int, clients_pid: int):
        self.server_pid, self.clients_pid = server_pid, clients_pid
        self.rss_kib: list[int] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._sample_rss, daemon=True)

    def _sample_rss(self) -> None:
        while not self._stop.is_set():
            try:
                self.rss_kib.append(status_kib(self.server_pid, "VmRSS"))
            except OSError:
                return
            self._stop.wait(0.2)

    def open(self) -> None:
        try:
            self._open()
        except OSError as error:
            raise Failure(f"a process ended as the window opened: {error}")

    def close(self) -> dict:
        try:
            return self._close()
        except OSError as error:
            raise Failure(f"a process ended before the window closed: {error}")

    def _open(self) -> None:
        self.started = time.monotonic()
        self.server_cpu0 = cpu_seconds(self.server_pid)
        self.clients_cpu0 = cpu_seconds(self.clients_pid)
        self.steal0 = steal_seconds()
        self.busy0 = machine_busy_seconds()
        self._thread.start()

    def _close(self) -> dict:
        seconds = time.monotonic() - self.started
        server_cpu = cpu_seconds(self.server_pid) - self.server_cpu0
        clients_cpu = cpu_seconds(self.clients_pid) - self.clients_cpu0
        steal1 = steal_seconds()
        others = machine_busy_seconds() - self.busy0 - server_cpu - clients_cpu
        hwm_kib = status_kib(self.server_pid, "VmHWM")
        self._stop.set()
        self._thread.join()
        rss = self.rss_kib or [0]
        return {
            "window_s": seconds,
            "server_cpu_s": server_cpu,
            "server_cpu_pct_of_core": 100 * server_cpu / seconds,
            "clients_cpu_pct_of_core": 100 * clients_cpu / seconds,
            "rss_mib_mean": sum(rss) / len(rss) / 1024,
            "rss_mib_peak": max(rss) / 1024,
            "rss_mib_lifetime_peak": hwm_kib / 1024,
            # Everything else this machine ran meanwhile: it should be near zero.
            "others_cpu_pct_of_core": max(0.0, 100 * others / seconds),
            "steal_s": None if self.steal0 is None or steal1 is None else steal1 - self.steal0,
        }


# --- Colyseus ----------------------------------------------------------------------------

def ensure_node() -> str:
    """Checks node and npm, installs the Colyseus side if needed; returns its version."""
    node, npm = shutil.which("node"), shutil.which("npm")
    if not node or not npm:
        raise Failure("node and npm are needed for the Colyseus side (Node 20 or later): "
                      "install them (e.g. https://nodejs.org, or `apt-get install nodejs npm`), "
                      "or run with --only tickcast")
    version = subprocess.run([node, "--version"], capture_output=True, text=True).stdout.strip()
    major = int(re.match(r"v(\d+)", version).group(1)) if re.match(r"v(\d+)", version) else 0
    if major < 20:
        raise Failure(f"Node {version} is too old for Colyseus: Node 20 or later is needed")
    core = PEER / "node_modules" / "@colyseus" / "core" / "package.json"
    if not core.exists():
        say("colyseus: installing its npm packages (npm ci --prefix benches/peer)")
        done = subprocess.run([npm, "ci", "--prefix", str(PEER), "--no-audit", "--no-fund", "--loglevel=error"],
                              cwd=ROOT, timeout=600)
        if done.returncode != 0 or not core.exists():
            raise Failure("npm ci --prefix benches/peer failed (is the npm registry reachable?)")
    return json.loads(core.read_text())["version"]


def read_events(child: Child, deadline: float):
    """The JSON lines a child prints on stdout, until it closes stdout or the deadline.
    Reads the pipe unbuffered, so a line is seen the moment it is written."""
    fd, pending = child.process.stdout.fileno(), b""
    while True:
        remaining = deadline - time.monotonic()
        if remaining <= 0:
            raise Failure(f"{child.name} did not finish in time; see {child.log_path}")
        ready, _, _ = select.select([fd], [], [], min(remaining, 1.0))
        if not ready:
            continue
        chunk = os.read(fd, 65536)
        if not chunk:
            return
        pending += chunk
        *lines, pending = pending.split(b"\n")
        for line in (raw.decode(errors="replace").strip() for raw in lines):
            if line.startswith("{"):
                yield json.loads(line)
            elif line:
                child.log.write(line + "\n")


def wait_for_log(child: Child, text: str, seconds: float, what: str) -> None:
    """Waits until `child`'s log holds `text` (it prints it once ready), failing with
    `what` after `seconds` or when the child dies."""
    deadline = time.monotonic() + seconds
    while text not in child.log_path.read_text():
        child.check_alive()
        if time.monotonic() > deadline:
            raise Failure(f"{what}; see {child.log_path}")
        time.sleep(0.05)


def measure_window(clients: Child, window: "Window", seconds: float, who: str, on_event=None) -> tuple[dict, dict]:
    """Follows a client process's events: opens `window` at its `window_start`, closes it at
    its `window_end`, and keeps its `result`; any other event goes to `on_event`. Returns
    the window's figures and the clients' result, once the clients have exited."""
    measured = result = None
    for event in read_events(clients, time.monotonic() + seconds):
        kind = event.get("event")
        if kind == "window_start":
            window.open()
        elif kind == "window_end":
            measured = window.close()
        elif kind == "result":
            result = event
        elif on_event:
            on_event(event)
    wait_for_exit(clients, 15)
    if measured is None or result is None:
        raise Failure(f"the {who} stopped before the end of the window; see {clients.log_path}")
    return measured, result


def run_colyseus(args, out: Path) -> dict:
    version = ensure_node()
    port = free_port()
    server = Child("colyseus server", ["node", str(PEER / "server.mjs"), "--port", str(port),
                                       "--entities", str(args.entities), "--fields", args.colyseus_fields],
                   out / "colyseus-server.log")
    try:
        wait_for_port(port, server, 30)
        # The room exists once this is logged.
        wait_for_log(server, "listening", 30, "colyseus server made no room")
        say(f"colyseus {version}: server up on port {port} ({args.entities} entities, "
            f"{args.colyseus_fields} fields); joining {args.clients} clients")
        clients = Child("colyseus clients", [
            "node", str(PEER / "clients.mjs"), "--url", f"ws://127.0.0.1:{port}",
            "--clients", str(args.clients), "--entities", str(args.entities),
            "--warmup", str(args.warmup), "--duration", str(args.duration)],
            out / "colyseus-clients.log", pipe_stdout=True)
        window = Window(server.pid, clients.pid)

        def joined(event: dict) -> None:
            if event.get("event") != "connected":
                return
            if event["clients"] == 0:
                raise Failure(f"no Colyseus client could join; see {clients.log_path}")
            say(f"colyseus: {event['clients']}/{args.clients} clients joined in {event['join_s']:.1f} s "
                f"({event['workers']} client threads); warm-up {args.warmup:g} s; then {args.duration:g} s measured")

        measured, result = measure_window(clients, window, 120 + args.warmup + args.duration,
                                          "Colyseus clients", joined)
        clients.stop()
    finally:
        server.stop()
    report = {
        "server": f"Colyseus {version}",
        "fields": args.colyseus_fields,
        **measured,
        "clients_connected": result["clients_connected"],
        "client_threads": result["workers"],
        "down_kbps_per_client": result["down_kbps_per_client"],
        "updates_per_s_per_client": result["messages_per_s_per_client"],
        "updates_per_s_per_client_min": result["messages_per_s_per_client_min"],
        "entities_seen": result["entities_decoded_min"],
        "entities_seen_how": "fewest entities any client held at the end",
        "clients_with_all_entities": result["clients_with_all_entities"],
        "client_up_bytes_in_window": result["up_bytes_in_window"],
        "client_drops_in_window": result["drops_in_window"],
        "client_drops_total": result["drops_total"],
        "clients_event_loop_delay_ms_p99": result["event_loop_delay_ms_p99"],
        "failures": result["failures"],
    }
    say(f"colyseus: {report['server_cpu_pct_of_core']:.1f} % of a core, "
        f"{report['down_kbps_per_client']:.1f} kbit/s per client, {report['rss_mib_mean']:.0f} MiB")
    return report


# --- tickcast ----------------------------------------------------------------------------

# What this script asks of the tickcast binaries, by flag.
SERVER_FLAGS = ["--game", "--drift-entities", "--metrics-bind", "--stats-json", "--interest-radius",
                "--budget-kbps", "--snapshot-rate", "--tick-rate", "--max-connections-per-ip"]
BOTS_FLAGS = ["--spectate", "--json", "--ramp"]


def missing_flags(binary: Path, flags: list[str]) -> list[str]:
    if not binary.exists():
        return [f"{binary.name} (not built)"]
    help_text = subprocess.run([str(binary), "--help"], capture_output=True, text=True, timeout=30).stdout
    return [flag for flag in flags if not re.search(re.escape(flag) + r"\b", help_text)]


def scrape(url: str) -> dict[str, float]:
    """The unlabelled samples of a Prometheus text exposition, by name."""
    try:
        with urllib.request.urlopen(url, timeout=2) as response:
            text = response.read().decode()
    except OSError as error:
        raise Failure(f"could not read {url}: {error}")
    samples = {}
    for line in text.splitlines():
        if line and not line.startswith("#") and "{" not in line:
            name, _, value = line.partition(" ")
            try:
                samples[name] = float(value.split()[0])
            except (ValueError, IndexError):
                pass
    return samples


def next_sample(url: str, timeout: float = 3.0) -> tuple[dict[str, float], float]:
    """Waits for the server's once-a-second sampler to move `tickcast_sent_bytes_total`
    (polled every 20 ms); returns the metrics and when they were seen. The sampler reads
    every counter at one instant, so two of these bound a whole number of seconds."""
    deadline, previous = time.monotonic() + timeout, None
    while True:
        samples = scrape(url)
        sent = samples.get("tickcast_sent_bytes_total")
        if sent is None:
            raise Failure(f"no tickcast_sent_bytes_total on {url}")
        if previous is None:
            previous = sent
        elif sent != previous:
            return samples, time.monotonic()
        if time.monotonic() > deadline:
            raise Failure(f"tickcast_sent_bytes_total did not move for {timeout:.0f} s on {url}")
        time.sleep(0.02)


def run_tickcast(args, out: Path) -> dict:
    release = ROOT / "target" / "release"
    missing = missing_flags(release / "tickcast-server", SERVER_FLAGS) \
        + missing_flags(release / "tickcast-bots", BOTS_FLAGS)
    if missing:
        raise Failure("the tickcast binaries lack what the drift scene needs: " + ", ".join(missing))
    port, metrics_port = free_port(), free_port()
    while metrics_port == port:
        metrics_port = free_port()
    server_json, bots_json = out / "tickcast-server.json", out / "tickcast-bots.json"
    for stale in (server_json, bots_json):
        stale.unlink(missing_ok=True)
    server = Child("tickcast server", [
        str(release / "tickcast-server"), "--bind", f"127.0.0.1:{port}",
        "--game", "drift", "--drift-entities", str(args.entities),
        "--tick-rate", "60", "--snapshot-rate", "20",
        # Every client sees every entity, and nothing is held back by the byte budget:
        # the same work Colyseus does.
        "--interest-radius", "0", "--budget-kbps", str(args.tickcast_budget_kbps),
        "--max-clients", str(max(args.clients * 2, 100)),
        "--max-connections-per-ip", str(args.clients + 16),
        "--metrics-bind", f"127.0.0.1:{metrics_port}", "--stats-json", str(server_json)],
        out / "tickcast-server.log")
    metrics = f"http://127.0.0.1:{metrics_port}/metrics"
    try:
        wait_for_port(port, server, 30)
        wait_for_port(metrics_port, server, 10)
        say(f"tickcast: server up on port {port} ({args.entities} entities); "
            f"joining {args.clients} spectator bots")
        ramp = 1.0
        # The bots play on past the window's end: joining is seen within about a second
        # of the ramp and the byte window closes on the sampler's next second.
        bots_seconds = args.warmup + args.duration + 6.0
        started = time.monotonic()
        bots = Child("tickcast bots", [
            str(release / "tickcast-bots"), "--url", f"ws://127.0.0.1:{port}/ws",
            "--bots", str(args.clients), "--spectate",
            "--ramp", f"{int(ramp * 1000)}ms", "--duration", f"{int(bots_seconds * 1000)}ms",
            "--json", str(bots_json)], out / "tickcast-bots.log")
        bots_end = started + ramp + bots_seconds
        deadline = time.monotonic() + 60
        while True:
            bots.check_alive()
            open_now = scrape(metrics).get("tickcast_connections_open", 0.0)
            if open_now >= args.clients:
                break
            if time.monotonic() > deadline:
                raise Failure(f"only {open_now:.0f} of {args.clients} bots connected within 60 s; "
                              f"see {bots.log_path}")
            time.sleep(0.1)
        joined = time.monotonic() - started
        if time.monotonic() + args.warmup + args.duration + 2.0 > bots_end:
            raise Failure(f"the bots took {joined:.1f} s to join, too long for their run")
        say(f"tickcast: {args.clients}/{args.clients} bots joined in {joined:.1f} s; warm-up {args.warmup:g} s")
        time.sleep(args.warmup)
        window = Window(server.pid, bots.pid)
        window.open()
        say(f"tickcast: measuring {args.duration:g} s")
        first, seen0 = next_sample(metrics)
        time.sleep(max(0.0, window.started + args.duration - time.monotonic()))
        measured = window.close()
        last, seen1 = next_sample(metrics)
        # Both reads are sampler instants, whole seconds apart.
        sampled_s = max(1, round(seen1 - seen0))
        clients = max(1.0, (first.get("tickcast_connections_open", 0) + last.get("tickcast_connections_open", 0)) / 2)
        per_client_s = lambda name: (last.get(name, 0) - first.get(name, 0)) / sampled_s / clients
        wait_for_exit(bots, max(0.0, bots_end - time.monotonic()) + 60)
        bots_status = bots.process.returncode
        bots.stop()
    finally:
        server.stop()
    if not bots_json.exists():
        raise Failure(f"tickcast-bots wrote no report; see {out / 'tickcast-bots.log'}")
    bots_report = json.loads(bots_json.read_text())
    server_report = json.loads(server_json.read_text()) if server_json.exists() else {}
    report = {
        "server": "tickcast",
        **measured,
        "clients_connected": bots_report.get("bots_connected", 0),
        "down_kbps_per_client": per_client_s("tickcast_sent_bytes_total") * 8 / 1000,
        "down_kbps_window_s": sampled_s,
        "updates_per_s_per_client": per_client_s("tickcast_frames_sent_total"),
        "down_kbps_per_client_bots_whole_run": bots_report.get("down_kbps_per_bot"),
        "entities_seen": bots_report.get("entities_in_view"),
        "entities_seen_how": "mean entities each bot held",
        "checksum_mismatches": bots_report.get("checksum_mismatches"),
        "mirror_errors": bots_report.get("mirror_errors"),
        "client_up_kbps_whole_run": bots_report.get("up_kbps_per_bot"),
        "entities_deferred": server_report.get("entities_deferred"),
        "staleness_max_ticks": server_report.get("staleness_max_ticks"),
        "bots_exit_status": bots_status,
        "failures": bots_report.get("failures", []),
    }
    say(f"tickcast: {report['server_cpu_pct_of_core']:.1f} % of a core, "
        f"{report['down_kbps_per_client']:.1f} kbit/s per client, {report['rss_mib_mean']:.0f} MiB")
    return report


# --- the send floor ----------------------------------------------------------------------

# The floor sender's modes, and their rows in the table.
FLOOR_MODES = [("bare", "floor: bare sends"), ("tasks", "floor: a task per client")]
FLOOR_RATE_HZ = 20  # tickcast's --snapshot-rate here


def floor_binary() -> Path:
    return ROOT / "target" / "release" / "examples" / "send_floor"


def floor_payload(args, tickcast: dict | None) -> int:
    """The payload bytes per frame: `--floor-payload`, else what tickcast sent per client
    per snapshot in this run (its down kbit/s per client at 20 snapshots a second)."""
    if args.floor_payload is not None:
        return args.floor_payload
    if not tickcast:
        raise Failure("no tickcast figures to size the floor's payload by (use --floor-payload BYTES)")
    return max(1, round(tickcast["down_kbps_per_client"] * 1000 / 8 / FLOOR_RATE_HZ))


def run_floor(args, out: Path, mode: str, label: str, payload: int) -> dict:
    """`send_floor serve` in `mode` with `send_floor watch` as its clients: the same client
    count, warm-up and window as the servers, the server's CPU measured the same way."""
    binary = floor_binary()
    if not binary.exists():
        raise Failure(f"{binary} is not built (cargo build --release -p tickcast-benches --example send_floor)")
    port = free_port()
    server_log = out / f"floor-{mode}-server.log"
    server = Child(f"floor server ({mode})", [
        str(binary), "serve", "--port", str(port), "--clients", str(args.clients),
        "--payload", str(payload), "--rate", str(FLOOR_RATE_HZ), "--mode", mode], server_log)
    try:
        wait_for_log(server, '"listening"', 30, "the floor server did not listen")
        say(f"{label}: {args.clients} clients, {payload} B at {FLOOR_RATE_HZ} Hz, "
            f"{args.warmup:g} s warm-up + {args.duration:g} s")
        clients = Child(f"floor clients ({mode})", [
            str(binary), "watch", "--url", f"ws://127.0.0.1:{port}/", "--clients", str(args.clients),
            "--warmup", str(args.warmup), "--seconds", str(args.duration)],
            out / f"floor-{mode}-clients.log", pipe_stdout=True)
        window = Window(server.pid, clients.pid)
        measured, result = measure_window(clients, window, 90 + args.warmup + args.duration, "floor clients")
        clients.stop()
    finally:
        server.stop()
    # The sender's own report (its last JSON line), written as it stopped.
    sender = {}
    for line in server_log.read_text().splitlines():
        if line.startswith("{") and '"result"' in line:
            sender = json.loads(line)
    report = {
        "server": label,
        "mode": mode,
        "payload_bytes": payload,
        "rate_hz": FLOOR_RATE_HZ,
        **measured,
        "clients_connected": result["clients_connected"],
        "down_kbps_per_client": result["down_kbps_per_client"],
        "updates_per_s_per_client": result["frames_per_s_per_client"],
        "updates_per_s_per_client_min": result["frames_per_s_per_client_min"],
        "entities_seen": None,
        "client_drops_in_window": result["drops_in_window"],
        "sender": sender,
    }
    say(f"{label}: {report['server_cpu_pct_of_core']:.2f} % of a core, "
        f"{report['down_kbps_per_client']:.1f} kbit/s per client")
    return report


def run_floors(args, out: Path, tickcast: dict | None, errors: list[str]) -> list[dict]:
    """Both floor modes in turn; a mode that fails is reported in `errors`, the other
    still runs."""
    payload = floor_payload(args, tickcast)
    if not args.no_build:
        say("floor: cargo build --release -p tickcast-benches --example send_floor")
        build = subprocess.run(["cargo", "build", "--release", "-p", "tickcast-benches", "--example", "send_floor"],
                               cwd=ROOT, timeout=3600)
        if build.returncode != 0:
            raise Failure("cargo build --release --example send_floor failed")
    floors = []
    for mode, label in FLOOR_MODES:
        try:
            floors.append(run_floor(args, out, mode, label, payload))
        except Failure as error:
            errors.append(f"{label}: {error}")
            say(f"{label}: FAILED: {error}")
        finally:
            stop_all()
    return floors


def floor_rows(args, colyseus: dict | None, floors: list[dict]) -> list[list[str]]:
    """The floor's rows of the table, and their ratios to Colyseus."""
    rows = []
    for side in floors:
        updates = side["updates_per_s_per_client"]
        rows.append([f"{side['server']} ({side['payload_bytes']} B)", f"{side['server_cpu_pct_of_core']:.2f}",
                     f"{side['down_kbps_per_client']:.1f}",
                     f"{side['rss_mib_mean']:.0f} / {side['rss_mib_peak']:.0f}",
                     f"{side['clients_connected']}/{args.clients}", "-", f"{updates:.1f}"])
    if colyseus:
        for side in floors:
            cpu = ratio(side["server_cpu_pct_of_core"], colyseus["server_cpu_pct_of_core"])
            kbps = ratio(side["down_kbps_per_client"], colyseus["down_kbps_per_client"])
            rss = ratio(side["rss_mib_mean"], colyseus["rss_mib_mean"])
            rows.append([f"{side['server']} / Colyseus", f"{cpu:.3f}", f"{kbps:.3f}", f"{rss:.2f}", "", "", ""])
    return rows


def floor_lines(colyseus: dict | None, tickcast: dict | None, floors: list[dict]) -> list[str]:
    """Under the table: whether the CPU target lies below the floor, and tickcast's CPU
    against the floor's."""
    lines = []
    by_mode = {side["mode"]: side for side in floors}
    if colyseus and floors:
        target = colyseus["server_cpu_pct_of_core"] * TARGET_CPU_RATIO
        figures = ", ".join(f"{side['server']} {side['server_cpu_pct_of_core']:.2f} %" for side in floors)
        bare, tasks = by_mode.get("bare"), by_mode.get("tasks")
        if bare and target < bare["server_cpu_pct_of_core"]:
            verdict = ("BELOW the floor: no server that makes one send per client per snapshot can meet it "
                       "on this machine")
        elif tasks and target < tasks["server_cpu_pct_of_core"]:
            verdict = ("below the floor of a task per client, above bare sends: only a server that sends "
                       "from one thread in a loop of plain writes could meet it")
        else:
            verdict = "above the floor: the rest is the server's own work"
        lines.append(f"the send floor: CPU target 1/{round(1 / TARGET_CPU_RATIO)} of Colyseus = {target:.2f} % "
                     f"of a core; {figures}: the target is {verdict}")
    if tickcast and floors:
        lines.append("tickcast / floor CPU: " + ", ".join(
            f"{ratio(tickcast['server_cpu_pct_of_core'], side['server_cpu_pct_of_core']):.2f}x {side['server']}"
            for side in floors if side["server_cpu_pct_of_core"] > 0))
    return lines


def floor_notes(floors: list[dict]) -> list[str]:
    """Each floor window's client and other CPU, and whether its clients kept up."""
    lines = []
    for side in floors:
        lines.append(f"{side['server']}: clients' process {side['clients_cpu_pct_of_core']:.0f} % of a core, "
                     f"other processes {side['others_cpu_pct_of_core']:.0f} %; "
                     f"slowest client {side['updates_per_s_per_client_min']:.1f} frames/s, "
                     f"{side['client_drops_in_window']} dropped in the window"
                     + (f"; {side['steal_s']:.2f} CPU s stolen by the hypervisor" if side.get("steal_s") else ""))
    return lines


# --- report ------------------------------------------------------------------------------

def table(header: list[str], rows: list[list[str]]) -> str:
    widths = [max(len(row[i]) for row in [header] + rows) for i in range(len(header))]
    line = lambda cells: "| " + " | ".join(c.ljust(w) for c, w in zip(cells, widths)) + " |"
    return "\n".join([line(header), "|" + "|".join("-" * (w + 2) for w in widths) + "|"]
                     + [line(row) for row in rows])


def ratio(a, b) -> float | None:
    return None if a is None or b in (None, 0) else a / b


def render(args, colyseus: dict | None, tickcast: dict | None, floors: list[dict] = ()) -> str:
    header = ["server", "CPU % of a core", "kbit/s per client", "RSS MiB mean / peak",
              "clients", "entities seen", "updates/s per client"]
    rows = []
    for side in (colyseus, tickcast):
        if side:
            updates = side.get("updates_per_s_per_client")
            seen = side.get("entities_seen")
            rows.append([side["server"], f"{side['server_cpu_pct_of_core']:.1f}",
                         f"{side['down_kbps_per_client']:.1f}",
                         f"{side['rss_mib_mean']:.0f} / {side['rss_mib_peak']:.0f}",
                         f"{side['clients_connected']}/{args.clients}",
                         "?" if seen is None else f"{seen:.0f}",
                         "?" if updates is None else f"{updates:.1f}"])
    if colyseus and tickcast:
        cpu = ratio(tickcast["server_cpu_pct_of_core"], colyseus["server_cpu_pct_of_core"])
        kbps = ratio(tickcast["down_kbps_per_client"], colyseus["down_kbps_per_client"])
        rss = ratio(tickcast["rss_mib_mean"], colyseus["rss_mib_mean"])
        rows.append(["tickcast / Colyseus", f"{cpu:.3f}", f"{kbps:.3f}", f"{rss:.2f}", "", "", ""])
    rows += floor_rows(args, colyseus, floors)
    lines = [table(header, rows)]
    if colyseus and tickcast:
        for name, value, target in (("CPU", cpu, TARGET_CPU_RATIO), ("bytes per client", kbps, TARGET_BYTES_RATIO)):
            verdict = "met" if value <= target else "NOT met"
            lines.append(f"target {name} <= 1/{round(1 / target)} of Colyseus: {value:.3f} ({verdict})")
    lines += floor_lines(colyseus, tickcast, floors)
    notes = []
    for side in (colyseus, tickcast):
        if side:
            notes.append(f"{side['server']}: clients' process {side['clients_cpu_pct_of_core']:.0f} % of a core, "
                         f"other processes {side['others_cpu_pct_of_core']:.0f} %; "
                         f"server RSS peak over its life {side['rss_mib_lifetime_peak']:.0f} MiB"
                         + (f"; {side['steal_s']:.2f} CPU s stolen by the hypervisor" if side.get("steal_s") else ""))
    if tickcast:
        notes.append(f"tickcast: checksum mismatches {tickcast['checksum_mismatches']}, "
                     f"mirror errors {tickcast['mirror_errors']}, "
                     f"entity changes deferred by the budget {tickcast['entities_deferred']}, "
                     f"bots exit status {tickcast['bots_exit_status']}")
    if colyseus and colyseus["clients_with_all_entities"] != colyseus["clients_connected"]:
        notes.append(f"Colyseus: only {colyseus['clients_with_all_entities']} clients held all "
                     f"{args.entities} entities")
    if colyseus and (colyseus["updates_per_s_per_client_min"] < 19 or colyseus["client_drops_total"]):
        notes.append(f"WARNING Colyseus: the slowest client got {colyseus['updates_per_s_per_client_min']:.1f} "
                     f"patches a second, {colyseus['client_drops_total']} connections dropped, the clients' "
                     f"event loop ran up to {colyseus['clients_event_loop_delay_ms_p99']:.0f} ms late (p99): "
                     "the clients' process could not keep up (a busy machine?); its figures are suspect")
    return "\n".join(lines + notes + floor_notes(floors))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--entities", type=int, default=1000)
    parser.add_argument("--clients", type=int, default=100)
    parser.add_argument("--duration", type=seconds_of, default=seconds_of("20s"),
                        help="measured window (default 20s)")
    parser.add_argument("--warmup", type=seconds_of, default=seconds_of("5s"),
                        help="left out after the last client joined (default 5s)")
    parser.add_argument("--only", choices=["both", "colyseus", "tickcast"], default="both")
    parser.add_argument("--colyseus-fields", choices=["float32", "quantized"], default="float32",
                        help="Colyseus entity field types: float32 (default) or 0.18's 16-bit quantized")
    parser.add_argument("--tickcast-budget-kbps", type=int, default=1_000_000,
                        help="tickcast's per-client byte budget; the default never defers a change, "
                             "as Colyseus sends every change")
    parser.add_argument("--out", default="target/peer", help="logs and reports (default target/peer)")
    parser.add_argument("--json", metavar="PATH", help="also write the figures as JSON here")
    parser.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    parser.add_argument("--floor", action="store_true",
                        help="after tickcast, also run the send floor (examples/send_floor.rs: a server that only "
                             "sends tickcast's bytes per frame), bare and a task per client; not with --only colyseus")
    parser.add_argument("--floor-payload", type=int, metavar="BYTES",
                        help="the floor's payload per frame (default: what tickcast sent per client per snapshot)")
    args = parser.parse_args()
    if args.entities < 1 or args.clients < 1 or args.duration <= 0 or args.warmup < 0:
        parser.error("--entities and --clients must be positive, --duration above zero")

    # SIGTERM (and SIGHUP) end the run like Ctrl-C: through the `finally` that stops everything.
    def interrupted(signum, _frame):
        raise KeyboardInterrupt(f"signal {signum}")
    signal.signal(signal.SIGTERM, interrupted)
    signal.signal(signal.SIGHUP, interrupted)

    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    results: dict = {"entities": args.entities, "clients": args.clients, "duration_s": args.duration,
                     "warmup_s": args.warmup, "cores": os.cpu_count()}
    colyseus = tickcast = None
    floors: list[dict] = []
    errors = []
    try:
        if args.only in ("both", "colyseus"):
            say(f"colyseus: {args.entities} entities, {args.clients} clients, "
                f"{args.warmup:g} s warm-up + {args.duration:g} s")
            try:
                colyseus = run_colyseus(args, out)
            except Failure as error:
                errors.append(f"Colyseus side: {error}")
                say(f"colyseus: FAILED: {error}")
            finally:
                stop_all()
        if args.only in ("both", "tickcast"):
            try:
                if not args.no_build:
                    say("tickcast: cargo build --release -p tickcast-server -p tickcast-bots")
                    build = subprocess.run(["cargo", "build", "--release", "-p", "tickcast-server",
                                            "-p", "tickcast-bots"], cwd=ROOT, timeout=3600)
                    if build.returncode != 0:
                        raise Failure("cargo build --release failed")
                say(f"tickcast: {args.entities} entities, {args.clients} spectators, "
                    f"{args.warmup:g} s warm-up + {args.duration:g} s")
                tickcast = run_tickcast(args, out)
            except Failure as error:
                errors.append(f"tickcast side: {error}")
                say(f"tickcast: FAILED: {error}")
            finally:
                stop_all()
        if args.floor and args.only != "colyseus":
            try:
                floors = run_floors(args, out, tickcast, errors)
            except Failure as error:
                errors.append(f"send floor: {error}")
                say(f"floor: FAILED: {error}")
            finally:
                stop_all()
    except KeyboardInterrupt:
        print("\n[peer] interrupted; stopping everything", file=sys.stderr)
        return 130
    finally:
        stop_all()

    if colyseus or tickcast or floors:
        print()
        print(render(args, colyseus, tickcast, floors))
        print(f"\nlogs and reports: {out}")
    busy = [side["server"] for side in (colyseus, tickcast, *floors) if side and side["others_cpu_pct_of_core"] > 20]
    if busy:
        print(f"warning: other processes kept this machine busy during the {' and '.join(busy)} window "
              "(see 'other processes' above): run it on an idle machine for figures to compare", file=sys.stderr)
    for error in errors:
        print(f"error: {error}", file=sys.stderr)
    results.update({"colyseus": colyseus, "tickcast": tickcast, "errors": errors})
    if floors:
        results["floor"] = floors
    if colyseus and tickcast:
        results["ratios"] = {
            "cpu": ratio(tickcast["server_cpu_pct_of_core"], colyseus["server_cpu_pct_of_core"]),
            "down_kbps_per_client": ratio(tickcast["down_kbps_per_client"], colyseus["down_kbps_per_client"]),
            "rss_mean": ratio(tickcast["rss_mib_mean"], colyseus["rss_mib_mean"]),
        }
    if args.json:
        Path(args.json).parent.mkdir(parents=True, exist_ok=True)
        Path(args.json).write_text(json.dumps(results, indent=2) + "\n")
    return 1 if errors else 0


if __name__ == "__main__":
    sys.exit(main())
