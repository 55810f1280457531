"""HTTP throughput of vault-bridge as users load it, against baselines served side by side.

On one throwaway OpenBao, three servers run under the same gunicorn settings (gthread, 2 workers
x 8 threads, vault_bridge.server.GUNICORN_WORKER):
  bare          a Flask app answering /healthz, nothing else (benchmarks/http_apps.py)
  vault-bridge  `vault-bridge serve` with VAULT_ADDR set, as in production (JSON access log on
                stdout, multiprocess metrics, audit events on stderr)
  vault-token   GET /api/v1/user for a caller with a Vault token, checked with lookup-self on
                every request (benchmarks/http_apps.py): the design's alternative
wrk (2 threads, 16 connections) then loads four targets in alternating rounds, so that the
machine's drift hits all of them alike: bare /healthz, vault-bridge /healthz, vault-bridge GET
/api/v1/user with a PAT in X-Auth-Token, and the vault-token variant. Printed: requests/s (median
over rounds) and the ratios, each the median of the per-round ratios.

With --profile SECONDS, py-spy also samples every vault-bridge worker for that long while wrk
loads GET /api/v1/user (only threads holding the GIL: the Python work that limits a worker), and
the busiest functions of request handling are printed (self and inclusive share).

Run: .venv/bin/python benchmarks/bench_http.py [--rounds N] [--seconds S] [--profile S]
(part of make bench; needs wrk, and py-spy for --profile)
"""

from __future__ import annotations

import argparse
import collections
import contextlib
import os
import re
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import requests

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from benchmarks.common import bench_settings, throwaway_openbao
from tests.helpers import free_port
from vault_bridge.bootstrap import bootstrap
from vault_bridge.embedded import EmbeddedOpenBao
from vault_bridge.services import Services
from vault_bridge.vault.names import SERVICE_ROLE
from vault_bridge.vault.sys import Sys

HERE = Path(__file__).resolve().parent
BIN = Path(sys.executable).parent
ISSUER = "https://bench.test"
USER = "bench"
PASSWORD = "bench-password-123"  # a throwaway account on a throwaway server
RATE = re.compile(r"Requests/sec:\s+([\d.]+)")
Target = tuple[str, str, dict[str, str]]  # name, URL, headers


def wrk(url: str, headers: dict[str, str], seconds: float) -> tuple[float, int]:
    """Requests per second and non-2xx answers of one wrk run (2 threads, 16 connections)."""
    command = ["wrk", "-t2", "-c16", f"-d{seconds}s", "--latency"]
    for name, value in headers.items():
        command += ["-H", f"{name}: {value}"]
    out = subprocess.run(
        [*command, url], capture_output=True, text=True, check=True, timeout=seconds + 30
    ).stdout
    found = RATE.search(out)
    if found is None:
        raise RuntimeError(f"wrk printed no rate:\n{out}")
    bad = re.search(r"Non-2xx or 3xx responses:\s+(\d+)", out)
    return float(found.group(1)), int(bad.group(1)) if bad else 0


def wait_ready(url: str, headers: dict[str, str], process: subprocess.Popen[bytes]) -> None:
    """Until ``url`` answers 200 (or the server died)."""
    deadline = time.monotonic() + 60
    while time.monotonic() < deadline:
        if process.poll() is not None:
            raise RuntimeError(f"the server for {url} exited with {process.returncode}")
        with contextlib.suppress(requests.RequestException):
            if requests.get(url, headers=headers, timeout=2).status_code == 200:
                return
        time.sleep(0.2)
    raise RuntimeError(f"{url} did not answer 200 within 60 s")


@contextlib.contextmanager
def servers(server: EmbeddedOpenBao, logs: Path) -> Iterator[tuple[list[Target], int]]:
    """Start the three servers; yield the four targets and the vault-bridge master's pid."""
    admin = server.admin_client()
    settings = bench_settings(server)
    bootstrap(admin, settings)
    services = Services(settings, admin)
    services.directory.create_user(USER, PASSWORD)
    _, pat = services.tokens.issue(USER, "bench", ["api"])
    login = requests.post(
        f"{server.addr}/v1/auth/{settings.userpass_mount}/login/{USER}",
        json={"password": PASSWORD},
        timeout=10,
    )
    login.raise_for_status()
    vault_token = login.json()["auth"]["client_token"]
    ports = {name: free_port() for name in ("bare", "bridge", "vault-token")}
    env = {
        **os.environ,
        "VAULT_ADDR": server.addr,
        "VAULT_BRIDGE_ROLE_ID": Sys(admin).approle_role_id(settings.approle_mount, SERVICE_ROLE),
        "VAULT_BRIDGE_SECRET_ID": server.role_secret(SERVICE_ROLE, admin, settings.approle_mount),
        "VAULT_BRIDGE_ISSUER": ISSUER,
        "VAULT_BRIDGE_HOST": "127.0.0.1",
        "VAULT_BRIDGE_PORT": str(ports["bridge"]),
        "VAULT_BRIDGE_WORKERS": "2",
        "VAULT_BRIDGE_DATA_DIR": str(logs),
    }
    env.pop("PROMETHEUS_MULTIPROC_DIR", None)
    apps = str(HERE / "http_apps.py")
    commands = {
        "bare": [sys.executable, apps, "bare", "--port", str(ports["bare"])],
        "bridge": [str(BIN / "vault-bridge"), "serve"],
        "vault-token": [
            sys.executable, apps, "vault-token", "--port", str(ports["vault-token"]),
            "--vault-addr", server.addr,
        ],
    }  # fmt: skip
    processes: dict[str, subprocess.Popen[bytes]] = {}
    try:
        for name, command in commands.items():
            # stdout (vault-bridge's access log) is written and thrown away, as a log shipper
            # would read it; stderr (audit events, gunicorn's messages) is kept for failures
            processes[name] = subprocess.Popen(
                command,
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=(logs / f"{name}.stderr").open("wb"),
            )
        bridge = f"http://127.0.0.1:{ports['bridge']}"
        targets: list[Target] = [
            ("bare /healthz", f"http://127.0.0.1:{ports['bare']}/healthz", {}),
            ("vault-bridge /healthz", f"{bridge}/healthz", {}),
            ("vault-bridge /api/v1/user (PAT)", f"{bridge}/api/v1/user", {"X-Auth-Token": pat}),
            (
                "vault-token /api/v1/user",
                f"http://127.0.0.1:{ports['vault-token']}/api/v1/user",
                {"X-Vault-Token": vault_token},
            ),
        ]
        processes_by_url = dict(
            zip((t[1] for t in targets), ("bare", "bridge", "bridge", "vault-token"), strict=True)
        )
        for _, url, headers in targets:
            wait_ready(url, headers, processes[processes_by_url[url]])
        yield targets, processes["bridge"].pid
    finally:
        for process in processes.values():
            process.terminate()
        for process in processes.values():
            try:
                process.wait(timeout=15)
            except subprocess.TimeoutExpired:
                process.kill()
                process.wait()
        services.close()


def measure(targets: list[Target], rounds: int, seconds: int) -> None:
    """Alternating wrk rounds over every target; print rates and ratios."""
    for _, url, headers in targets:  # warm up: connections, caches, first uses
        wrk(url, headers, 1)
    rates: dict[str, list[float]] = collections.defaultdict(list)
    for _ in range(rounds):
        for name, url, headers in targets:
            rate, bad = wrk(url, headers, seconds)
            if bad:
                raise RuntimeError(f"{name}: {bad} answers were not 2xx")
            rates[name].append(rate)
    bare, healthz, user, vault = (rates[t[0]] for t in targets)
    print(f"wrk -t2 -c16 -d{seconds}s, {rounds} alternating rounds; requests/s (median)")
    for name, _, _ in targets:
        samples = ", ".join(f"{r:,.0f}" for r in rates[name])
        print(f"  {name:<34}{statistics.median(rates[name]):>9,.0f}   ({samples})")

    def ratio(a: list[float], b: list[float]) -> float:
        return statistics.median(x / y for x, y in zip(a, b, strict=True))

    print()
    checks = (
        ("user / bare Flask /healthz", ratio(user, bare), 0.8),
        ("user / vault-bridge /healthz", ratio(user, healthz), 0.92),
        ("vault-bridge /healthz / bare", ratio(healthz, bare), None),
        ("user / vault-token variant", ratio(user, vault), None),
    )
    for label, value, goal in checks:
        verdict = ""
        if goal is not None:
            verdict = f"   (goal >= {goal}: {'PASS' if value >= goal else 'MISS'})"
        print(f"  {label:<34}{value:>9.2f}x{verdict}")


def profile(targets: list[Target], master: int, seconds: int, raw: Path) -> None:
    """py-spy every vault-bridge worker while wrk loads GET /api/v1/user; print the top."""
    py_spy = shutil.which("py-spy") or str(BIN / "py-spy")
    _, url, headers = targets[2]
    spy = subprocess.Popen(
        [
            py_spy, "record", "--pid", str(master), "--subprocesses", "--duration", str(seconds),
            "--rate", "250", "--gil", "--format", "raw", "--output", str(raw),
        ],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )  # fmt: skip
    time.sleep(1)
    rate, _ = wrk(url, headers, seconds)
    _, err = spy.communicate(timeout=seconds + 60)
    if spy.returncode != 0 or not raw.exists():
        raise RuntimeError(f"py-spy failed: {err.decode(errors='replace')[-500:]}")
    print(f"\nprofile: py-spy, {seconds} s of GET /api/v1/user at {rate:,.0f} requests/s")
    summarize(raw)


def summarize(raw: Path, top: int = 25) -> None:
    """Self and inclusive shares of the request-handling samples, by function."""
    own: collections.Counter[str] = collections.Counter()
    inclusive: collections.Counter[str] = collections.Counter()
    total = 0
    for line in raw.read_text().splitlines():
        stack, _, count = line.rpartition(" ")
        if "handle_request" not in stack:  # idle threads, the master, background loops
            continue
        frames = [short(f) for f in stack.split(";")]
        n = int(count)
        total += n
        own[frames[-1]] += n
        for frame in set(frames):
            inclusive[frame] += n
    if not total:
        print("  no request samples")
        return
    print(f"  {total} samples in request handling; self %, then inclusive %")
    for (a, na), (b, nb) in zip(own.most_common(top), inclusive.most_common(top), strict=False):
        print(f"  {100 * na / total:5.1f}  {a[:58]:<58}  {100 * nb / total:5.1f}  {b[:58]}")


def short(frame: str) -> str:
    """``function (package/module.py)`` from py-spy's ``function (path:line)``."""
    name, _, where = frame.partition(" (")
    path = where.rsplit(":", 1)[0]
    parts = Path(path).parts
    return f"{name} ({'/'.join(parts[-2:])})"


def in_process(server: EmbeddedOpenBao, pat: str, batches: int = 40, size: int = 200) -> None:
    """Each app called as a WSGI callable in this process, no HTTP server or load generator:
    what the app itself costs per request (the fastest batches, in microseconds) and how many
    Python calls it makes (cProfile's count, which does not depend on the machine's load).
    Set up as `serve` sets up a gunicorn worker: JSON access log on stdout (here /dev/null),
    multiprocess metrics."""
    import cProfile
    import io
    import pstats

    from werkzeug.test import EnvironBuilder

    from benchmarks.http_apps import bare_app
    from vault_bridge import logs as log_setup
    from vault_bridge import metrics
    from vault_bridge.app import create_app

    settings = bench_settings(server)
    with tempfile.TemporaryDirectory() as shared:
        metrics.use_multiprocess_directory(shared)
        services = Services(settings, server.admin_client())
        stdout = os.dup(1)
        devnull = os.open(os.devnull, os.O_WRONLY)
        os.dup2(devnull, 1)
        try:
            log_setup.configure("json", "-")
            app = create_app(settings, services=services)
            cases = (
                ("bare /healthz", bare_app(), "/healthz", {}),
                ("vault-bridge /healthz", app, "/healthz", {}),
                ("vault-bridge /api/v1/user (PAT)", app, "/api/v1/user", {"X-Auth-Token": pat}),
            )
            results = []
            for name, wsgi, path, headers in cases:
                environ = EnvironBuilder(
                    path=path, headers=headers, environ_base={"REMOTE_ADDR": "127.0.0.1"}
                ).get_environ()

                def call(wsgi: Any = wsgi, environ: dict[str, Any] = environ) -> None:
                    answer = wsgi({**environ, "wsgi.input": io.BytesIO()}, lambda *a: None)
                    b"".join(answer)
                    answer.close()

                for _ in range(size):  # warm: caches, first use
                    call()
                samples = []
                for _ in range(batches):
                    started = time.perf_counter()
                    for _ in range(size):
                        call()
                    samples.append((time.perf_counter() - started) / size * 1e6)
                profiler = cProfile.Profile()
                profiler.enable()
                for _ in range(size):
                    call()
                profiler.disable()
                calls = pstats.Stats(profiler).total_calls / size  # type: ignore[attr-defined]
                results.append((name, statistics.mean(sorted(samples)[:5]), calls))
        finally:
            os.dup2(stdout, 1)
            os.close(stdout)
            os.close(devnull)
            services.close()
    print("\nin this process, no HTTP server (fastest batches of", size, "requests)")
    for name, micros, calls in results:
        print(f"  {name:<34}{micros:>9.1f} us   {calls:>6.0f} Python calls")


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--seconds", type=int, default=3)
    parser.add_argument("--profile", type=int, default=0, metavar="SECONDS")
    parser.add_argument("--profile-raw", type=Path, help="keep py-spy's collapsed stacks here")
    args = parser.parse_args()
    if shutil.which("wrk") is None:
        sys.exit("bench_http needs wrk: `make bench` installs it on Debian as root")
    with tempfile.TemporaryDirectory() as tmp, throwaway_openbao() as server:
        logs = Path(tmp)
        try:
            with servers(server, logs) as (targets, master):
                measure(targets, args.rounds, args.seconds)
                pat = targets[2][2]["X-Auth-Token"]
                if args.profile:
                    profile(targets, master, args.profile, args.profile_raw or logs / "raw.txt")
            in_process(server, pat)
        except Exception:
            for log in logs.glob("*.stderr"):
                print(f"--- {log.name} (last lines)", file=sys.stderr)
                print("\n".join(log.read_text().splitlines()[-15:]), file=sys.stderr)
            raise


if __name__ == "__main__":
    main()
