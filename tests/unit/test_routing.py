"""URL rules compile their URL builders on first use; the URLs they build are unchanged."""

from __future__ import annotations

from typing import Any

import pytest
from flask import Flask, url_for
from werkzeug.routing import Rule

from vault_bridge.routing import LazyBuilderRule


def routed_app(rule_class: type[Rule]) -> Flask:
    """An app with every blueprint of the service and the UI, built with ``rule_class``."""
    from vault_bridge.web import bp as web_bp
    from vault_bridge.web import org_pats, pats, views  # noqa: F401 - register the UI routes

    from vault_bridge.api import meta, orgs, providers, runtime, session, user
    from vault_bridge.compat import qc_catalog, quantum

    app = Flask(__name__, static_folder=None)  # Flask adds that rule before rule_class is set
    app.url_rule_class = rule_class
    for blueprint in (meta.bp, session.bp, user.bp, orgs.bp, providers.bp, runtime.bp):
        app.register_blueprint(blueprint)
    for blueprint in (qc_catalog.bp, quantum.bp, web_bp):
        app.register_blueprint(blueprint)
    return app


def built_urls(app: Flask) -> dict[str, tuple[str, str]]:
    """Every endpoint's URL with awkward argument values, without and with a query string."""
    adapter = app.url_map.bind("vault-bridge.test")
    urls = {}
    for rule in app.url_map.iter_rules():
        values: dict[str, Any] = {name: "a b/ü%?" for name in rule.arguments}
        urls[rule.endpoint] = (
            adapter.build(rule.endpoint, values),
            adapter.build(rule.endpoint, {**values, "extra": "x y&z"}),
        )
    return urls


def test_builds_the_same_urls_as_werkzeug_rules() -> None:
    eager, lazy = built_urls(routed_app(Rule)), built_urls(routed_app(LazyBuilderRule))
    assert len(eager) > 50
    assert lazy == eager
    assert any("a%20b/%C3%BC%25%3F" in url for url, _ in eager.values())  # escaped
    assert all("extra=x+y%26z" in url for _, url in eager.values())


def test_compiles_no_builder_until_a_url_is_built(monkeypatch: pytest.MonkeyPatch) -> None:
    compiled: list[str] = []
    werkzeug_compile = Rule._compile_builder

    def counting(rule: Rule, append_unknown: bool = True) -> Any:
        compiled.append(rule.endpoint)
        return werkzeug_compile(rule, append_unknown)

    monkeypatch.setattr(Rule, "_compile_builder", counting)
    app = routed_app(LazyBuilderRule)
    assert compiled == []
    adapter = app.url_map.bind("vault-bridge.test")
    assert adapter.build("meta.readyz", {}) == "/readyz"
    assert adapter.build("meta.readyz", {}) == "/readyz"
    assert compiled == ["meta.readyz"]  # once, then kept


def test_the_service_app_uses_lazy_rules(app: Flask) -> None:
    rules = [rule for rule in app.url_map.iter_rules() if rule.endpoint != "static"]
    assert len(rules) > 50 and all(isinstance(rule, LazyBuilderRule) for rule in rules)
    with app.test_request_context():
        assert url_for("meta.readyz", probe="1 2") == "/readyz?probe=1+2"
