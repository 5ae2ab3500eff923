"""Task options: parse a client's options, check them against the engine's OPTIONS, and store them typed."""
import json
import math
import operator
import re

from localnode.engine.options import NODE_RULES, OPTIONS

OPTIONS_BY_NAME = {option["name"]: option for option in OPTIONS}
TRUE_WORDS = {"true", "1", "yes"}
FALSE_WORDS = {"false", "0", "no"}
# The numeric domains of NodeODM's grammar (the others, json, string and path, never constrain a number).
PLAIN_NUMBER = re.compile(r"(positive |negative )?(?:integer|float)")
BETWEEN = re.compile(r"(?:integer|float): ([-+.\d]+) <= x <= ([-+.\d]+)")
BOUND = re.compile(r"(?:integer|float) (>=|>|<=|<) ([-+.\d]+)")
COMPARE = {">=": operator.ge, ">": operator.gt, "<=": operator.le, "<": operator.lt}


class OptionsError(ValueError):
    """Options a client sent that cannot be used; str() is the NodeODM error text."""

    def __init__(self, problems):
        """Keep the list of {"name", "error"} problems."""
        self.problems = problems
        super().__init__(json.dumps(problems))


def parse_options(raw):
    """Client options (a JSON string or a list of {"name","value"}) -> typed [{"name","value"}] in OPTIONS order."""
    entries = _decode(raw)
    given = {}
    problems = []
    for entry in entries:
        name = entry.get("name") if isinstance(entry, dict) else None
        option = OPTIONS_BY_NAME.get(name) if isinstance(name, str) else None
        if option is None:
            continue  # unknown names are dropped, as NodeODM does
        try:
            given[name] = convert(option, entry.get("value"))
        except ValueError as problem:
            problems.append({"name": name, "error": str(problem)})
    if problems:
        raise OptionsError(problems)
    return [{"name": o["name"], "value": given[o["name"]]} for o in OPTIONS if o["name"] in given]


def engine_options(task_options):
    """Every option of OPTIONS, typed: the task's value where it set one, else the default (options.json)."""
    chosen = {entry["name"]: entry["value"] for entry in task_options}
    return {o["name"]: chosen[o["name"]] if o["name"] in chosen else convert(o, o["value"]) for o in OPTIONS}


def convert(option, value):
    """One value converted to its option's type, or ValueError saying what is wrong."""
    kind = option["type"]
    if kind == "bool":
        return _to_bool(value)
    if kind == "int":
        number = _to_int(value)
    elif kind == "float":
        number = _to_float(value)
    elif kind == "enum":
        return _to_choice(value, option["domain"])
    else:
        return "" if value is None else str(value)
    _check_domain(number, option["domain"])
    _check_node_rule(option["name"], number)
    return number


def _decode(raw):
    """The options as a list of entries; a dict {name: value} is accepted too."""
    if raw is None or raw == "":
        return []
    if isinstance(raw, (str, bytes)):
        try:
            raw = json.loads(raw)
        except ValueError:
            raise OptionsError([{"name": "options", "error": "not valid JSON: expected [{\"name\", \"value\"}]"}])
    if isinstance(raw, dict):
        raw = [{"name": name, "value": value} for name, value in raw.items()]
    if not isinstance(raw, list):
        raise OptionsError([{"name": "options", "error": "expected a list of {\"name\", \"value\"}"}])
    return raw


def _to_bool(value):
    """true/false/1/0 (strings, numbers or JSON booleans) -> bool."""
    if isinstance(value, bool):
        return value
    word = str(value).strip().lower()
    if word in TRUE_WORDS:
        return True
    if word in FALSE_WORDS:
        return False
    raise ValueError(f"{value!r} is not a boolean (use true, false, 1 or 0)")


def _to_int(value):
    """An integer from an int or a string of one (a float with no fraction is accepted too)."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not an integer")
    if isinstance(value, int):
        return value
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not an integer") from None
    if not math.isfinite(number) or number != int(number):
        raise ValueError(f"{value!r} is not an integer")
    return int(number)


def _to_float(value):
    """A finite float from a number or a string of one."""
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a number")
    try:
        number = float(str(value).strip())
    except ValueError:
        raise ValueError(f"{value!r} is not a number") from None
    if not math.isfinite(number):
        raise ValueError(f"{value!r} is not a finite number")
    return number


def _to_choice(value, choices):
    """The value if it is one of the enum's choices."""
    text = "" if value is None else str(value)
    if text not in choices:
        raise ValueError(f"{text!r} is not one of {', '.join(repr(c) for c in choices)}")
    return text


def _check_domain(number, domain):
    """ValueError unless the number lies in its numeric domain (NodeODM's grammar; "" means no check)."""
    if not domain:
        return
    if not _in_domain(number, domain):
        raise ValueError(f"{number} is out of range ({domain})")


def _in_domain(number, domain):
    """Whether a number satisfies a numeric domain: [positive |negative ]integer|float, percent, A <= x <= B, op N."""
    match = PLAIN_NUMBER.fullmatch(domain)
    if match:
        sign = match.group(1)
        return number >= 0 if sign == "positive " else number <= 0 if sign == "negative " else True
    if domain == "percent":
        return 0 <= number <= 100
    match = BETWEEN.fullmatch(domain)
    if match:
        return float(match.group(1)) <= number <= float(match.group(2))
    match = BOUND.fullmatch(domain)
    if match:
        return COMPARE[match.group(1)](number, float(match.group(2)))
    raise ValueError(f"the node cannot check its domain {domain!r}")


def _check_node_rule(name, value):
    """ValueError when the value breaks a rule the node checks beyond the domain (NODE_RULES)."""
    rule = NODE_RULES.get(name)
    if rule is not None and not rule[0](value):
        raise ValueError(f"{value} is not allowed: {name} {rule[1]}")
