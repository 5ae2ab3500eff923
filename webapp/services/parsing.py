"""Checking values that users send (forms, JSON): the rules shared by several services, in one place."""
import json

from webapp.services.errors import ValidationError

MAX_NAME_LENGTH = 255


def clean_bool(value, field):
    """A boolean from JSON or a form ("true", "false", "1", "0", "on", "off"), or ValidationError."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "on", "yes"):
        return True
    if text in ("false", "0", "off", "no", ""):
        return False
    raise ValidationError(field_errors={field: ["Must be a valid boolean."]})


def clean_name(name):
    """A project name stripped of surrounding space, or ValidationError when empty or too long."""
    name = str(name or "").strip()
    if not name:
        raise ValidationError(field_errors={"name": ["This field is required."]})
    return _check_length(name)


def clean_task_name(name):
    """A task name (may be empty), at most 255 characters."""
    return _check_length(str(name or "").strip())


def _check_length(name):
    """name, or ValidationError when it is longer than a name column holds."""
    if len(name) > MAX_NAME_LENGTH:
        raise ValidationError(field_errors={"name": [f"Use at most {MAX_NAME_LENGTH} characters."]})
    return name


def parse_options(value):
    """Task options [{"name", "value"}] from a JSON string or a list, kept as sent; ValidationError otherwise."""
    if value is None or value == "":
        return []
    if isinstance(value, (str, bytes)):
        try:
            value = json.loads(value)
        except ValueError as error:
            raise ValidationError(field_errors={"options": [f"Invalid JSON: {error}."]}) from None
    if not isinstance(value, list) or not all(isinstance(o, dict) and isinstance(o.get("name"), str) and "value" in o
                                              for o in value):
        raise ValidationError(field_errors={"options": ['Expected a list of {"name": ..., "value": ...}.']})
    return value
