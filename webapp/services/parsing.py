"""Checking values that users send (forms, JSON): the rules shared by several services, in one place."""
import json
import re

from webapp.services.errors import ValidationError

MAX_NAME_LENGTH = 255
MAX_TAG_LENGTH = 64
MAX_TAGS = 50
# A tag: letters (any script), digits, "_", "-" and "."; a leading "#" (as people type them to search) is dropped.
TAG = re.compile(r"[\w.-]+")


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


def _text(value):
    """value as text, as WebODM's string fields take it (numbers too); ValidationError for a list, an object or a
    boolean, which a client sends by mistake (a list used to be stored as the text "[None, None]")."""
    if value is None:
        return ""
    if isinstance(value, bool) or not isinstance(value, (str, int, float)):
        raise ValidationError(field_errors={"name": ["Not a valid string."]})
    return str(value)


def clean_name(name):
    """A project name stripped of surrounding space, or ValidationError when empty, not text or too long."""
    name = _text(name).strip()
    if not name:
        raise ValidationError(field_errors={"name": ["This field is required."]})
    return _check_length(name)


def clean_task_name(name):
    """A task name (may be empty), at most 255 characters."""
    return _check_length(_text(name).strip())


def clean_tags(value):
    """Project tags as WebODM keeps them: one string of distinct words separated by spaces (a list is accepted
    too), or ValidationError naming the first tag with odd characters."""
    words = value if isinstance(value, list) else str(value or "").split()
    tags = []
    for word in words:
        tag = str(word).strip().removeprefix("#")
        if not TAG.fullmatch(tag):
            raise ValidationError(field_errors={"tags": [
                f"“{word}” is not a valid tag: use letters, digits, “-”, “_” and “.”, and spaces between tags."]})
        if len(tag) > MAX_TAG_LENGTH:
            raise ValidationError(field_errors={"tags": [f"Use at most {MAX_TAG_LENGTH} characters per tag."]})
        if tag.lower() not in (known.lower() for known in tags):
            tags.append(tag)
    if len(tags) > MAX_TAGS:
        raise ValidationError(field_errors={"tags": [f"Use at most {MAX_TAGS} tags."]})
    return " ".join(tags)


def split_search(text):
    """A dashboard search as WebODM's: (the #tags, lower-cased, the remaining text)."""
    words = str(text or "").split()
    tags = [word[1:].lower() for word in words if word.startswith("#") and len(word) > 1]
    rest = " ".join(word for word in words if not word.startswith("#"))
    return tags, rest


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
