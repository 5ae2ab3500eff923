"""Small helpers of the API views: the caller, JSON responses that keep field order, request bodies, query parameters."""
import json

from flask import current_app, g, request

from webapp.services.errors import ValidationError


def caller():
    """The authenticated user of this request (set by webapp.api.auth), or None."""
    return g.get("api_user")


def json_response(data, status=200, headers=None):
    """A JSON response that keeps the order of fields as serialized (Flask's jsonify would sort them)."""
    body = json.dumps(data, ensure_ascii=False, separators=(",", ":"))
    return current_app.response_class(body, status=status, mimetype="application/json", headers=headers)


def no_content():
    """An empty 204 answer."""
    return current_app.response_class(status=204)


def request_data():
    """The request body as a dict: JSON when sent as JSON, else the form fields (first value of each)."""
    if request.is_json:
        if not request.get_data(cache=True).strip():  # an empty JSON body: no fields
            return {}
        data = request.get_json(silent=True)
        if not isinstance(data, dict):
            raise ValidationError("JSON parse error: expected a JSON object.")
        return data
    return {key: request.form.get(key) for key in request.form.keys()}


def uploaded_files(*fields):
    """Every file sent under any of the given form fields."""
    return [f for field in fields for f in request.files.getlist(field) if f and f.filename]


def int_arg(name, default=None, minimum=None):
    """An integer query parameter, or ValidationError naming it."""
    value = request.args.get(name)
    if value in (None, ""):
        return default
    try:
        number = int(value)
    except ValueError:
        raise ValidationError(field_errors={name: ["A whole number is required."]}) from None
    if minimum is not None and number < minimum:
        raise ValidationError(field_errors={name: [f"Use a number of at least {minimum}."]})
    return number
