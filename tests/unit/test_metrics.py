"""Metrics: a registry per app (several apps in one process keep their own numbers)."""

from __future__ import annotations

from vault_bridge.metrics import standard_metrics


def test_each_app_counts_for_itself() -> None:
    one, two = standard_metrics(), standard_metrics()
    one.inc("vault_bridge_token_verifications_total", result="ok")
    one.inc("vault_bridge_token_verifications_total", result="ok")
    assert one.value("vault_bridge_token_verifications_total", result="ok") == 2
    assert two.value("vault_bridge_token_verifications_total", result="ok") == 0
    assert b'vault_bridge_token_verifications_total{result="ok"} 2.0' in one.render()


def test_a_gauge_that_cannot_be_read_does_not_break_the_scrape() -> None:
    metrics = standard_metrics()

    def broken() -> float:
        raise RuntimeError("not yet")

    metrics.gauge("vault_bridge_denylist_entries", broken)
    metrics.gauge("vault_bridge_denylist_age_seconds", lambda: 1.5)
    text = metrics.render().decode()
    assert "vault_bridge_denylist_entries NaN" in text
    assert "vault_bridge_denylist_age_seconds 1.5" in text
    assert "_created" not in text
