#!/usr/bin/env python3
"""Soak: the release server under bots that join, leave and resume continuously.

Starts `tickcast-server`, then runs overlapping waves of `tickcast-bots` (each wave
plays for `--wave` seconds with `--chaos-reconnect`, so connections drop and resume
throughout; a new wave starts every half wave, so bots join and leave all the time)
until `--duration` is over. Every 5 s it samples the server's resident memory, open
file descriptors and its tick p99 (from `/healthz`). At the end it prints one table of
the samples per minute and the verdict of every wave, and writes `soak.svg` (RSS, fds
and tick p99 over the run). Bounded: each wave stops itself and the server is always
stopped.

    python3 benches/soak.py --duration 10m --bots 100 --wave 60

Standard library only.
"""

import argparse
import json
import os
import signal
import subprocess
import sys
import time
import urllib.request
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent


def parse_seconds(text: str) -> float:
    units = {"s": 1, "m": 60, "h": 3600}
    return float(text[:-1]) * units[text[-1]] if text[-1] in units else float(text)


def rss_mib(pid: int) -> float:
    with open(f"/proc/{pid}/status") as status:
        for line in status:
            if line.startswith("VmRSS:"):
                return int(line.split()[1]) / 1024
    return 0.0


def fds(pid: int) -> int:
    return len(os.listdir(f"/proc/{pid}/fd"))


def health(port: int) -> dict:
    with urllib.request.urlopen(f"http://127.0.0.1:{port}/healthz", timeout=2) as answer:
        return json.load(answer)


def svg(samples: list, path: Path) -> None:
    """Three small line charts: RSS, fds, tick p99 over the run."""
    width, height, pad = 720, 150, 40
    series = [("RSS (MiB)", "rss"), ("open fds", "fds"), ("tick p99 (ms)", "tick_p99")]
    end = max(s["t"] for s in samples) or 1
    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" width="{width}" height="{height * 3}" '
             'font-family="sans-serif" font-size="11">']
    for row, (title, key) in enumerate(series):
        top = row * height
        high = max(s[key] for s in samples) * 1.1 or 1
        points = " ".join(
            f"{pad + (s['t'] / end) * (width - 2 * pad):.1f},"
            f"{top + height - pad / 2 - (s[key] / high) * (height - pad):.1f}" for s in samples)
        parts.append(f'<text x="{pad}" y="{top + 14}">{title}, max {max(s[key] for s in samples):.2f}</text>')
        parts.append(f'<line x1="{pad}" y1="{top + height - pad / 2}" x2="{width - pad}" '
                     f'y2="{top + height - pad / 2}" stroke="#999"/>')
        parts.append(f'<polyline fill="none" stroke="#2a7" stroke-width="1.5" points="{points}"/>')
    parts.append(f'<text x="{width - pad}" y="{height * 3 - 4}" text-anchor="end">{end:.0f} s</text></svg>')
    path.write_text("\n".join(parts) + "\n")


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("--duration", default="10m")
    parser.add_argument("--bots", type=int, default=100, help="bots per wave")
    parser.add_argument("--wave", type=float, default=60, help="seconds each wave plays")
    parser.add_argument("--chaos", type=int, default=6, help="drops per bot per minute")
    parser.add_argument("--npcs", type=int, default=300)
    parser.add_argument("--port", type=int, default=17979)
    parser.add_argument("--out", default="target/soak")
    parser.add_argument("--no-build", action="store_true")
    args = parser.parse_args()
    duration = parse_seconds(args.duration)
    out = ROOT / args.out
    out.mkdir(parents=True, exist_ok=True)
    release = ROOT / "target" / "release"
    if not args.no_build:
        subprocess.run(["cargo", "build", "--release", "-p", "tickcast-server", "-p", "tickcast-bots"],
                       cwd=ROOT, check=True)
    log = open(out / "server.log", "w")
    server = subprocess.Popen([str(release / "tickcast-server"), "--bind", f"127.0.0.1:{args.port}",
                               "--npcs", str(args.npcs), "--max-connections-per-ip", str(args.bots * 10),
                               "--max-clients", str(args.bots * 10)], stdout=log, stderr=subprocess.STDOUT)
    waves, samples, verdicts = [], [], []
    started = time.monotonic()
    next_wave = started
    try:
        for _ in range(100):
            try:
                health(args.port)
                break
            except OSError:
                time.sleep(0.1)
        while True:
            now = time.monotonic()
            elapsed = now - started
            if elapsed >= duration:
                break
            if now >= next_wave and elapsed + args.wave <= duration:
                index = len(waves)
                waves.append(subprocess.Popen(
                    [str(release / "tickcast-bots"), "--url", f"ws://127.0.0.1:{args.port}/ws",
                     "--bots", str(args.bots), "--duration", f"{args.wave}s", "--ramp", "5s",
                     "--seed", str(index + 1), "--chaos-reconnect", str(args.chaos),
                     "--json", str(out / f"wave-{index}.json")],
                    stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL))
                next_wave = now + args.wave / 2
            tick_p99 = health(args.port)["tick_p99_ms"]
            samples.append({"t": elapsed, "rss": rss_mib(server.pid), "fds": fds(server.pid),
                            "tick_p99": tick_p99 or 0.0})
            print(f"\r\033[K{elapsed:6.0f} s  rss {samples[-1]['rss']:6.1f} MiB  fds {samples[-1]['fds']:5d}  "
                  f"tick p99 {samples[-1]['tick_p99']:.2f} ms  waves {len(waves)}", end="", file=sys.stderr)
            time.sleep(5)
        for index, wave in enumerate(waves):
            code = wave.wait(timeout=args.wave + 60)
            path = out / f"wave-{index}.json"
            report = json.loads(path.read_text()) if path.exists() else {}
            verdicts.append((index, code, report.get("drops", "-"), report.get("resumes", "-"),
                             report.get("checksum_mismatches", "no report")))
    finally:
        for wave in waves:
            if wave.poll() is None:
                wave.kill()
        server.send_signal(signal.SIGTERM)
        server.wait(timeout=10)
    print(file=sys.stderr)
    print("| minute | RSS MiB (min / max) | open fds (min / max) | tick p99 ms (max) |")
    print("|---|---|---|---|")
    for minute in range(int(duration // 60) + 1):
        window = [s for s in samples if minute * 60 <= s["t"] < (minute + 1) * 60]
        if window:
            print(f"| {minute} | {min(s['rss'] for s in window):.1f} / {max(s['rss'] for s in window):.1f} "
                  f"| {min(s['fds'] for s in window)} / {max(s['fds'] for s in window)} "
                  f"| {max(s['tick_p99'] for s in window):.2f} |")
    print()
    print("| wave | exit | drops | resumes | mismatches |")
    print("|---|---|---|---|---|")
    for row in verdicts:
        print("| " + " | ".join(str(value) for value in row) + " |")
    svg(samples, out / "soak.svg")
    print(f"\nwrote {out / 'soak.svg'}")
    failed = [row for row in verdicts if row[1] != 0 or row[4] != 0]
    for row in failed:
        print(f"wave {row[0]} failed: see {out / f'wave-{row[0]}.json'}", file=sys.stderr)
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
