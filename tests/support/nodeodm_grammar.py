"""A reading of option domains as NodeODM and ClusterODM read them, to check what a node's /options promises.

The grammar (../shared/docs/NODEODM.md): a list (enum); "" (no check); `integer` or `float`, optionally prefixed
`positive ` or `negative `; `percent`; `integer: A <= x <= B` / `float: A <= x <= B`; `integer|float` then
` >= `, ` > `, ` <= ` or ` < ` and a number; `json`; `string`; `path`. Anything else is refused, as they refuse it.
"""
import json
import math
import re

NUMBER = r"([-+.\d]+)"
KIND = r"(integer|float)"


class GrammarError(ValueError):
    """A domain that NodeODM's grammar cannot express (the task would fail with "Domain value cannot be handled")."""


def _is_json(value):
    """Whether the value is a string holding JSON."""
    try:
        json.loads(value)
    except (TypeError, ValueError):
        return False
    return isinstance(value, str)


def _kind_holds(kind, value):
    """What a bare `integer` / `float` domain asks of a value: a whole number, or a finite one."""
    return float(value).is_integer() if kind == "integer" else math.isfinite(value)


# (pattern, maker of the predicate from the pattern's groups), tried in this order as NodeODM does.
RULES = [
    (re.compile(rf"(positive |negative )?{KIND}"),
     lambda sign, kind: ((lambda v: v >= 0) if sign == "positive " else (lambda v: v <= 0) if sign == "negative "
                         else (lambda v: _kind_holds(kind, v)))),
    (re.compile(r"percent"), lambda: (lambda v: 0 <= v <= 100)),
    (re.compile(rf"{KIND}: {NUMBER} <= x <= {NUMBER}"),
     lambda kind, low, high: (lambda v: float(low) <= v <= float(high))),
    (re.compile(rf"{KIND} (>=|>|<=|<) {NUMBER}"),
     lambda kind, op, bound: {">=": lambda v: v >= float(bound), ">": lambda v: v > float(bound),
                              "<=": lambda v: v <= float(bound), "<": lambda v: v < float(bound)}[op]),
    (re.compile(r"json"), lambda: _is_json),
    (re.compile(r"string|path"), lambda: (lambda v: True)),
]


def parse_domain(domain):
    """A predicate telling whether a typed value lies in the domain; GrammarError for a domain outside the grammar."""
    if isinstance(domain, list):
        return lambda value: value in domain
    if not isinstance(domain, str):
        raise GrammarError(f"a domain is a string or a list, not {domain!r}")
    if domain == "":
        return lambda value: True
    for pattern, make in RULES:
        match = pattern.fullmatch(domain)
        if match:
            return make(*match.groups())
    raise GrammarError(f"Domain value cannot be handled: {domain!r}")
