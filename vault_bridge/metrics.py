"""Prometheus metrics, per process (each gunicorn worker exports its own; scrape them all or sum).

A small registry of its own rather than a global one, so that several app instances in one
process (tests, benchmarks) keep separate numbers.
"""

from __future__ import annotations

import bisect
import threading
from collections import defaultdict
from collections.abc import Callable

BUCKETS = (0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0)
Labels = tuple[tuple[str, str], ...]


def _labels(labels: dict[str, str]) -> Labels:
    return tuple(sorted(labels.items()))


def _format(labels: Labels, extra: tuple[tuple[str, str], ...] = ()) -> str:
    items = labels + extra
    if not items:
        return ""
    body = ",".join(
        f'{k}="{v.replace(chr(92), chr(92) * 2).replace(chr(34), chr(92) + chr(34))}"'
        for k, v in items
    )
    return "{" + body + "}"


class Metrics:
    """Counters, histograms and gauges, rendered in the Prometheus text format."""

    def __init__(self) -> None:
        self._counters: dict[str, dict[Labels, float]] = defaultdict(lambda: defaultdict(float))
        self._histograms: dict[str, dict[Labels, list[float]]] = defaultdict(dict)
        self._gauges: dict[str, Callable[[], float]] = {}
        self._help: dict[str, tuple[str, str]] = {}
        self._lock = threading.Lock()

    def describe(self, name: str, kind: str, text: str) -> None:
        """Declare a metric's type and help line."""
        self._help[name] = (kind, text)

    def inc(self, name: str, amount: float = 1.0, **labels: str) -> None:
        """Add to a counter."""
        with self._lock:
            self._counters[name][_labels(labels)] += amount

    def observe(self, name: str, value: float, **labels: str) -> None:
        """Record a value in a histogram."""
        key = _labels(labels)
        with self._lock:
            series = self._histograms[name].get(key)
            if series is None:
                series = self._histograms[name][key] = [0.0] * (len(BUCKETS) + 2)
            series[bisect.bisect_left(BUCKETS, value)] += 1  # the bucket, or +Inf at the end
            series[-1] += value  # the sum

    def gauge(self, name: str, read: Callable[[], float]) -> None:
        """A value read when scraped."""
        self._gauges[name] = read

    def vault_observer(self) -> Callable[[float, str], None]:
        """The hook a Vault client calls after each request (seconds, outcome)."""

        def observe(seconds: float, outcome: str) -> None:
            self.inc("vault_bridge_vault_requests_total", outcome=outcome)
            self.observe("vault_bridge_vault_request_duration_seconds", seconds)

        return observe

    def value(self, name: str, **labels: str) -> float:
        """A counter's value (for tests)."""
        return self._counters[name].get(_labels(labels), 0.0)

    def render(self) -> str:
        """The text exposition format."""
        lines: list[str] = []
        with self._lock:
            for name, series in sorted(self._counters.items()):
                self._header(lines, name, "counter")
                for labels, value in sorted(series.items()):
                    lines.append(f"{name}{_format(labels)} {value:g}")
            for name, histogram in sorted(self._histograms.items()):
                self._header(lines, name, "histogram")
                for labels, counts in sorted(histogram.items()):
                    running = 0.0
                    for bound, count in zip(BUCKETS, counts, strict=False):
                        running += count
                        lines.append(
                            f"{name}_bucket{_format(labels, (('le', f'{bound:g}'),))} {running:g}"
                        )
                    running += counts[len(BUCKETS)]
                    lines.append(f"{name}_bucket{_format(labels, (('le', '+Inf'),))} {running:g}")
                    lines.append(f"{name}_count{_format(labels)} {running:g}")
                    lines.append(f"{name}_sum{_format(labels)} {counts[-1]:.6f}")
        for name, read in sorted(self._gauges.items()):
            self._header(lines, name, "gauge")
            try:
                lines.append(f"{name} {read():g}")
            except Exception:  # a gauge that cannot be read is left out, never breaks the scrape
                lines.pop()
                lines.pop()
        return "\n".join(lines) + "\n"

    def _header(self, lines: list[str], name: str, kind: str) -> None:
        declared_kind, text = self._help.get(name, (kind, name))
        lines.append(f"# HELP {name} {text}")
        lines.append(f"# TYPE {name} {declared_kind}")


def standard_metrics() -> Metrics:
    """The registry with every metric of the service declared."""
    metrics = Metrics()
    metrics.describe(
        "vault_bridge_http_requests_total", "counter", "HTTP requests by route, method and status"
    )
    metrics.describe(
        "vault_bridge_http_request_duration_seconds", "histogram", "HTTP request latency by route"
    )
    metrics.describe(
        "vault_bridge_token_verifications_total", "counter", "PAT verifications by result"
    )
    metrics.describe("vault_bridge_vault_requests_total", "counter", "Calls to Vault by outcome")
    metrics.describe(
        "vault_bridge_vault_request_duration_seconds", "histogram", "Vault call latency"
    )
    metrics.describe("vault_bridge_denylist_entries", "gauge", "Revoked, unexpired token ids held")
    metrics.describe(
        "vault_bridge_denylist_age_seconds", "gauge", "Seconds since the last denylist refresh"
    )
    return metrics
