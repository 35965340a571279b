#!/usr/bin/env python3
"""Swarm benchmark: the release server and a bot swarm on this machine, end to end.

Builds release, starts `tickcast-server` with `--stats-json`, runs `tickcast-bots` with
`--json` (its progress bar shows while it runs), stops the server with SIGTERM, then
prints one table of both sides' figures and writes an SVG plot of tick time, the bots'
round trip (input to ack) and bandwidth over the run. Bounded: the swarm stops itself
and the server is always stopped, even on Ctrl-C.

    python3 benches/swarm.py --bots 200 --npcs 500 --duration 30s
    python3 benches/swarm.py --bots 1000 --npcs 2000 --duration 30s --ramp 10s --map assets/maps/large.toml
    python3 benches/swarm.py --bots 350 --npcs 700 --duration 20s --map assets/maps/large.toml --stagger
    python3 benches/swarm.py --bots 200 --npcs 500 --duration 20s --tls   # wss (self-signed)
    python3 benches/swarm.py --bots 200 --npcs 500 --duration 20s --transport http --wire   # the HTTP fallback

Standard library only, so it runs on a fresh machine with nothing installed.
"""

import argparse
import json
import os
import resource
import signal
import socket
import subprocess
import sys
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def wait_for_port(port: int, seconds: float = 10.0) -> None:
    deadline = time.time() + seconds
    while time.time() < deadline:
        with socket.socket() as probe:
            if probe.connect_ex(("127.0.0.1", port)) == 0:
                return
        time.sleep(0.1)
    raise SystemExit(f"server did not listen on port {port} within {seconds} s")


def polyline(points, x_scale, y_scale, height, colour):
    coords = " ".join(f"{60 + x * x_scale:.1f},{height - 30 - y * y_scale:.1f}" for x, y in points)
    return f'<polyline fill="none" stroke="{colour}" stroke-width="1.5" points="{coords}"/>'


def panel(title, series, unit, top, width=760, height=220):
    """One chart: several (label, colour, [(t, value)]) series sharing axes."""
    all_points = [p for _, _, points in series for p in points]
    if not all_points:
        return ""
    t_max = max(t for t, _ in all_points) or 1.0
    v_max = max(v for _, v in all_points) * 1.1 or 1.0
    x_scale = (width - 80) / t_max
    y_scale = (height - 50) / v_max
    parts = [f'<g transform="translate(0,{top})">',
             f'<text x="60" y="16" font-size="14" font-family="sans-serif">{title}</text>',
             f'<line x1="60" y1="{height - 30}" x2="{width - 20}" y2="{height - 30}" stroke="#888"/>',
             f'<line x1="60" y1="20" x2="60" y2="{height - 30}" stroke="#888"/>',
             f'<text x="{width - 20}" y="{height - 12}" font-size="11" text-anchor="end" '
             f'font-family="sans-serif">{t_max:.0f} s</text>',
             f'<text x="56" y="30" font-size="11" text-anchor="end" font-family="sans-serif">'
             f'{v_max:.1f}</text>',
             f'<text x="56" y="{height - 30}" font-size="11" text-anchor="end" font-family="sans-serif">0</text>',
             f'<text x="14" y="{height / 2}" font-size="11" font-family="sans-serif" '
             f'transform="rotate(-90 14 {height / 2})">{unit}</text>']
    for index, (label, colour, points) in enumerate(series):
        parts.append(polyline(points, x_scale, y_scale, height, colour))
        parts.append(f'<text x="{80 + index * 150}" y="{height - 2}" font-size="11" fill="{colour}" '
                     f'font-family="sans-serif">{label}</text>')
    parts.append("</g>")
    return "\n".join(parts)


def write_plot(path: Path, server: dict, bots: dict, tick_budget_ms: float) -> None:
    timeline = server.get("timeline", [])
    tick = [
        ("tick p50", "#1f77b4", [(s["t_s"], s["tick_ms"]["p50"]) for s in timeline]),
        ("tick p99", "#d62728", [(s["t_s"], s["tick_ms"]["p99"]) for s in timeline]),
        (f"budget/4 = {tick_budget_ms / 4:.1f} ms", "#888888",
         [(s["t_s"], tick_budget_ms / 4) for s in timeline]),
    ]
    per_client = [(s["t_s"], s["bytes_out_per_s"] * 8 / 1000 / max(s["clients"], 1)) for s in timeline]
    clients = [(s["t_s"], s["clients"]) for s in timeline]
    seconds = [s for s in bots.get("timeline", []) if s["rtt_ms"]["samples"] > 0]
    round_trips = [
        ("RTT p50", "#1f77b4", [(s["t_s"], s["rtt_ms"]["p50"]) for s in seconds]),
        ("RTT p99", "#d62728", [(s["t_s"], s["rtt_ms"]["p99"]) for s in seconds]),
        ("target 50 ms", "#888888", [(s["t_s"], 50.0) for s in seconds]),
    ]
    body = "\n".join([
        panel("server tick time (ms): p50 and p99 of each second", tick, "ms", 0),
        panel("bot round trip, input to ack (ms): p50 and p99 of each second since the bots started",
              round_trips, "ms", 230),
        panel("snapshot bandwidth per client (kbit/s)", [("down per client", "#2ca02c", per_client)], "kbit/s", 460),
        panel("clients", [("clients", "#9467bd", clients)], "clients", 690),
    ])
    path.write_text(f'<svg xmlns="http://www.w3.org/2000/svg" width="780" height="920" '
                    f'style="background:white">\n{body}\n</svg>\n')


def table(rows):
    width = max(len(name) for name, _ in rows)
    lines = [f"| {'figure'.ljust(width)} | value |", f"|{'-' * (width + 2)}|-------|"]
    lines += [f"| {name.ljust(width)} | {value} |" for name, value in rows]
    return "\n".join(lines)


def process_cpu_seconds(pid: int) -> float:
    """User + system CPU seconds a live process has used so far (from /proc)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def steal_seconds() -> float | None:
    """CPU seconds the hypervisor has taken from this (virtual) machine so far, summed over
    its CPUs (the `steal` column of /proc/stat); None where there is no such column."""
    try:
        fields = Path("/proc/stat").read_text().splitlines()[0].split()
        return int(fields[8]) / os.sysconf("SC_CLK_TCK")
    except (OSError, IndexError, ValueError):
        return None


def children_cpu_seconds() -> float:
    usage = resource.getrusage(resource.RUSAGE_CHILDREN)
    return usage.ru_utime + usage.ru_stime


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--bots", type=int, default=200)
    parser.add_argument("--npcs", type=int, default=500)
    parser.add_argument("--duration", default="30s")
    parser.add_argument("--ramp", default="5s")
    parser.add_argument("--map", default="embedded")
    parser.add_argument("--tick-rate", type=int, default=60)
    parser.add_argument("--snapshot-rate", type=int, default=30)
    parser.add_argument("--budget-kbps", type=int, default=256)
    parser.add_argument("--interest-radius", type=float, default=30.0)
    parser.add_argument("--inputs-per-write", type=int, default=1,
                        help="inputs each bot flushes in one socket write (1 to 8)")
    parser.add_argument("--stagger", action="store_true",
                        help="start the server with --stagger-snapshots (clients spread over the ticks)")
    parser.add_argument("--tls", action="store_true",
                        help="serve wss with a self-signed certificate; the bots connect with --insecure")
    parser.add_argument("--transport", choices=["ws", "http", "auto"], default="ws",
                        help="how the bots reach the server: WebSocket, the HTTP fallback, or auto")
    parser.add_argument("--wire", action="store_true",
                        help="relay the bots through `tickcast-bots proxy` (no faults) to count the bytes on the "
                             "wire per bot: TCP payload, HTTP and WebSocket framing included")
    parser.add_argument("--port", type=int, default=17878)
    parser.add_argument("--out", default="target/swarm")
    parser.add_argument("--no-build", action="store_true", help="use the existing release binaries")
    args = parser.parse_args()

    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "tickcast-server", "-p", "tickcast-bots"],
                       cwd=ROOT, check=True)
    release = ROOT / "target" / "release"
    server_json, bots_json = out / "server.json", out / "bots.json"
    for stale in (server_json, bots_json):
        stale.unlink(missing_ok=True)
    # Every bot comes from 127.0.0.1: lift the per-address limit for the swarm.
    server_cmd = [str(release / "tickcast-server"), "--bind", f"127.0.0.1:{args.port}",
                  "--max-connections-per-ip", str(args.bots + 10),
                  "--npcs", str(args.npcs), "--map", args.map, "--tick-rate", str(args.tick_rate),
                  "--snapshot-rate", str(args.snapshot_rate), "--budget-kbps", str(args.budget_kbps),
                  "--interest-radius", str(args.interest_radius), "--max-clients", str(max(args.bots * 2, 100)),
                  "--stats-json", str(server_json)] + (["--stagger-snapshots"] if args.stagger else []) \
                 + (["--tls-self-signed"] if args.tls else [])
    with open(out / "server.log", "w") as log:
        server = subprocess.Popen(server_cmd, cwd=ROOT, stdout=log, stderr=subprocess.STDOUT)
    bots_status = 1
    server_cpu = bots_cpu = stolen = wire = proxy = None
    proxy_json = out / "proxy.json"
    proxy_json.unlink(missing_ok=True)
    try:
        wait_for_port(args.port)
        bots_port = args.port
        if args.wire:
            bots_port = args.port + 1
            proxy = subprocess.Popen([str(release / "tickcast-bots"), "proxy", "--listen", f"127.0.0.1:{bots_port}",
                                      "--upstream", f"127.0.0.1:{args.port}", "--json", str(proxy_json)],
                                     cwd=ROOT, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
            wait_for_port(bots_port)
        children_before = children_cpu_seconds()
        steal_before = steal_seconds()
        bots_started = time.monotonic()
        scheme = "wss" if args.tls else "ws"
        bots = subprocess.run([str(release / "tickcast-bots"), "--url", f"{scheme}://127.0.0.1:{bots_port}/ws",
                               "--bots", str(args.bots), "--duration", args.duration, "--ramp", args.ramp,
                               "--inputs-per-write", str(args.inputs_per_write), "--json", str(bots_json),
                               "--transport", args.transport]
                              + (["--insecure"] if args.tls else []),
                              cwd=ROOT, timeout=3600)
        bots_status = bots.returncode
        bots_wall = time.monotonic() - bots_started
        bots_cpu = children_cpu_seconds() - children_before
        server_cpu = process_cpu_seconds(server.pid)
        steal_after = steal_seconds()
        stolen = None if steal_before is None or steal_after is None else steal_after - steal_before
    finally:
        if proxy is not None:
            # Interrupted, it writes its summary and exits.
            proxy.send_signal(signal.SIGINT)
            try:
                proxy.wait(timeout=15)
            except subprocess.TimeoutExpired:
                proxy.kill()
                proxy.wait()
            if proxy_json.exists():
                summary = json.loads(proxy_json.read_text())
                wire = (summary["down"]["bytes"], summary["up"]["bytes"])
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=15)
        except subprocess.TimeoutExpired:
            server.kill()
            server.wait()

    if not server_json.exists() or not bots_json.exists():
        print("missing reports; see", out / "server.log", file=sys.stderr)
        return 1
    server_report = json.loads(server_json.read_text())
    bots_report = json.loads(bots_json.read_text())
    tick_budget_ms = 1000 / args.tick_rate
    rows = [
        ("bots connected / failed", f"{bots_report['bots_connected']} / {bots_report['bots_failed']}"),
        ("npcs / entities max", f"{args.npcs} / {server_report['entities_max']}"),
        ("server tick p50 / p99 / max (ms)",
         f"{server_report['tick_ms']['p50']:.2f} / {server_report['tick_ms']['p99']:.2f} / "
         f"{server_report['tick_ms']['max']:.2f}"),
        ("tick p99 / budget", f"{server_report['tick_ms']['p99'] / tick_budget_ms:.2f}"),
        ("overruns / ticks", f"{server_report['overruns']} / {server_report['ticks']}"),
        ("checksum mismatches", str(bots_report["checksum_mismatches"])),
        ("inputs sent / acked", f"{bots_report['inputs_sent']} / {bots_report['inputs_acked']}"),
        ("inputs per write", str(bots_report.get("inputs_per_write", 1))),
        ("snapshots staggered", "yes" if args.stagger else "no"),
        ("transport (bots on each)",
         ", ".join(f"{t['transport']} {t['bots']}" for t in bots_report.get("transports", [])) or args.transport),
        ("inputs folded (standing delay removed)", str(server_report.get("inputs_folded", 0))),
        ("bot RTT p50 / p99 / max (ms)",
         f"{bots_report['rtt_ms']['p50']:.1f} / {bots_report['rtt_ms']['p99']:.1f} / {bots_report['rtt_ms']['max']:.1f}"),
        ("down / up kbit/s per bot", f"{bots_report['down_kbps_per_bot']:.1f} / {bots_report['up_kbps_per_bot']:.1f}"),
        ("max staleness (ticks)", str(server_report["staleness_max_ticks"])),
        ("entity changes deferred by budget", str(server_report["entities_deferred"])),
        ("server bytes out / in", f"{server_report['bytes_out']} / {server_report['bytes_in']}"),
    ]
    if bots_cpu is not None:
        cores = os.cpu_count() or 1
        rows.append(("CPU s server / bots (wall s)", f"{server_cpu:.1f} / {bots_cpu:.1f} ({bots_wall:.1f})"))
        rows.append((f"share of {cores} cores server / bots",
                     f"{server_cpu / bots_wall / cores:.0%} / {bots_cpu / bots_wall / cores:.0%}"))
        connected = max(bots_report["bots_connected"], 1)
        rows.append(("server CPU ms per bot-second", f"{server_cpu * 1000 / connected / bots_wall:.2f}"))
    if wire is not None and bots_report["bytes_down"] and bots_report["bytes_up"]:
        # The proxy's bytes (TCP payload) against the bots' message payload: the framing
        # each transport adds (WebSocket headers and masks; HTTP requests, responses and
        # chunks, and the fallback's frame headers).
        down, up = wire[0] / bots_report["bytes_down"], wire[1] / bots_report["bytes_up"]
        rows.append(("wire bytes per payload byte down / up", f"{down:.2f} / {up:.2f}"))
        rows.append(("wire kbit/s per bot down / up",
                     f"{bots_report['down_kbps_per_bot'] * down:.1f} / {bots_report['up_kbps_per_bot'] * up:.1f}"))
    if stolen is not None:
        # A virtual machine's CPUs can be paused by the host: a tick that took long for no
        # reason inside the guest may be that.
        rows.append(("CPU s taken by the hypervisor (steal)", f"{stolen:.2f}"))
    for key in ("bytes_per_snapshot", "bytes_per_changed_entity", "entities_in_view"):
        if key in bots_report:
            rows.append((key.replace("_", " "), f"{bots_report[key]:.1f}"))
    print()
    print(table(rows))
    plot = out / "swarm.svg"
    write_plot(plot, server_report, bots_report, tick_budget_ms)
    print(f"\nplot: {plot}\nreports: {server_json}, {bots_json}")
    return bots_status


if __name__ == "__main__":
    sys.exit(main())
