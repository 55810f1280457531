"""URL rules whose URL builders are compiled on first use instead of at app start."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from werkzeug.routing import Rule


class LazyBuilderRule(Rule):
    """A Werkzeug rule that compiles its two URL builders when ``url_for`` first needs one.

    Werkzeug generates and compiles Python code for two builders per rule when the rule is
    bound, which is most of the CPU of building an app although most routes are never built
    into URLs. Matching requests is unaffected; a builder, once compiled, is kept.
    """

    def _compile_builder(self, append_unknown: bool = True) -> Callable[..., tuple[str, str]]:
        """Return a stand-in that compiles the real builder on its first call."""
        compile_real = super()._compile_builder
        real: list[Callable[..., tuple[str, str]]] = []

        def build(rule: Rule, **values: Any) -> tuple[str, str]:
            if not real:
                real.append(compile_real(append_unknown).__get__(rule, None))
            return real[0](**values)

        return build
