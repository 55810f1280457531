"""Prometheus metrics (prometheus_client), for one process or a whole gunicorn group.

Each app has a registry of its own, so that several apps in one process (tests, benchmarks) keep
separate numbers. Under gunicorn, ``serve`` turns on the library's multiprocess mode before any
app exists (:func:`use_multiprocess_directory`): every worker writes its values to files in one
directory, and a scrape of any worker reports the sum over the group (counters and histograms),
including workers that have exited, so totals never go back. Gauges are written by each worker
once a second and at each scrape; the group reports the largest value among live workers.
"""

from __future__ import annotations

import math
import os
import threading
from collections.abc import Callable
from typing import Any

from prometheus_client import (
    CollectorRegistry,
    Counter,
    Gauge,
    Histogram,
    disable_created_metrics,
    generate_latest,
    multiprocess,
    values,
)
from prometheus_client.exposition import CONTENT_TYPE_PLAIN_0_0_4

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
CONTENT_TYPE = CONTENT_TYPE_PLAIN_0_0_4  # what generate_latest writes
MULTIPROC_ENV = "PROMETHEUS_MULTIPROC_DIR"
GAUGE_INTERVAL = 1.0

COUNTERS = {
    "vault_bridge_http_requests_total": (
        "HTTP requests by route, method and status",
        ("route", "method", "status"),
    ),
    "vault_bridge_token_verifications_total": ("PAT verifications by result", ("result",)),
    "vault_bridge_vault_requests_total": ("Calls to Vault by outcome", ("outcome",)),
}
HISTOGRAMS = {
    "vault_bridge_http_request_duration_seconds": ("HTTP request latency by route", ("route",)),
    "vault_bridge_vault_request_duration_seconds": ("Vault call latency", ()),
}
GAUGES = {
    "vault_bridge_denylist_entries": "Revoked, unexpired token ids held",
    "vault_bridge_denylist_age_seconds": "Seconds since the last denylist refresh",
}


def use_multiprocess_directory(path: str) -> None:
    """Multiprocess mode from now on in this process and the ones it forks, values in ``path``
    (emptied here: numbers of an earlier run must not add to this one's). Call it before any
    metric exists."""
    for name in os.listdir(path):
        if name.endswith(".db"):
            os.unlink(os.path.join(path, name))
    os.environ[MULTIPROC_ENV] = path
    values.ValueClass = values.get_value_class()  # the library decides from the variable


def mark_process_dead(pid: int) -> None:
    """Drop the gauges of a worker that exited (its counters keep counting in the totals)."""
    if os.environ.get(MULTIPROC_ENV):
        multiprocess.mark_process_dead(pid)


def multiprocess_mode() -> bool:
    """True when values are shared through files (see :func:`use_multiprocess_directory`)."""
    return bool(os.environ.get(MULTIPROC_ENV))


class Metrics:
    """The service's counters, histograms and gauges, rendered in the Prometheus text format."""

    def __init__(self) -> None:
        disable_created_metrics()  # no *_created series: they are not kept in multiprocess mode
        self.registry = CollectorRegistry()
        self.multiprocess = multiprocess_mode()
        self._counters = {
            name: Counter(name, text, labels, registry=self.registry)
            for name, (text, labels) in COUNTERS.items()
        }
        self._histograms = {
            name: Histogram(name, text, labels, buckets=BUCKETS, registry=self.registry)
            for name, (text, labels) in HISTOGRAMS.items()
        }
        self._gauges: dict[str, tuple[Gauge, Callable[[], float]]] = {}
        # each labelled series once found: labels() checks and sorts its arguments under a lock
        self._series: dict[tuple[str, tuple[tuple[str, str], ...]], Any] = {}
        self._stop = threading.Event()
        self._thread: threading.Thread | None = None

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add to a counter."""
        self._series_of(self._counters, name, labels).inc(amount)

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Record a value in a histogram."""
        self._series_of(self._histograms, name, labels).observe(value)

    def _series_of(self, family: dict[str, Any], name: str, labels: dict[str, str]) -> Any:
        """The series of ``name`` with ``labels`` (the metric itself without labels)."""
        key = (name, tuple(labels.items()))
        series = self._series.get(key)
        if series is None:
            metric = family[name]
            series = metric.labels(**labels) if labels else metric
            self._series[key] = series
        return series

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        """A value read when scraped (and, in multiprocess mode, every second)."""
        gauge = Gauge(name, GAUGES[name], registry=self.registry, multiprocess_mode="livemax")

        def safe() -> float:
            try:
                return float(read())
            except Exception:  # a gauge that cannot be read must never break the scrape
                return math.nan

        if self.multiprocess:
            gauge.set(safe())
        else:
            gauge.set_function(safe)
        self._gauges[name] = (gauge, safe)

    def vault_observer(self) -> Callable[[float, str], None]:
        """The hook a Vault client calls after each request (seconds, outcome)."""

        def observe(seconds: float, outcome: str) -> None:
            self.inc("vault_bridge_vault_requests_total", outcome=outcome)
            self.observe("vault_bridge_vault_request_duration_seconds", seconds)

        return observe

    def value(self, name: str, **labels: str) -> float:
        """A counter's value in this process (for tests)."""
        found = self.registry.get_sample_value(name, labels)
        return found or 0.0

    def render(self) -> bytes:
        """The text exposition format: this app's numbers, or the whole process group's."""
        if not self.multiprocess:
            return generate_latest(self.registry)
        self.refresh_gauges()
        group = CollectorRegistry()
        multiprocess.MultiProcessCollector(group)
        return generate_latest(group)

    def refresh_gauges(self) -> None:
        """Write the gauges' current values (multiprocess mode)."""
        for gauge, read in self._gauges.values():
            gauge.set(read())

    def start(self) -> None:
        """In multiprocess mode, keep this process's gauges current for scrapes of the others."""
        if not self.multiprocess or self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._loop, name="metrics-gauges", daemon=True)
        self._thread.start()

    def close(self) -> None:
        """Stop writing gauges."""
        self._stop.set()
        if self._thread is not None:
            self._thread.join(timeout=5)
            self._thread = None

    def _loop(self) -> None:
        while not self._stop.wait(GAUGE_INTERVAL):
            self.refresh_gauges()


def standard_metrics() -> Metrics:
    """The registry with every metric of the service declared."""
    return Metrics()
