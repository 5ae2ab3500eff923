"""Named long-lived API tokens of the caller: list, create (the secret is shown once), revoke."""
from webapp.api.blueprint import route
from webapp.api.auth import login_required
from webapp.api.helpers import caller, json_response, no_content, request_data
from webapp.api.serializers import api_token_json
from webapp.services import tokens


@route("/tokens/", methods=["GET"])
@login_required
def list_tokens():
    """The caller's API tokens (without their secrets)."""
    return json_response([api_token_json(token) for token in tokens.list_api_tokens(caller())])


@route("/tokens/", methods=["POST"])
@login_required
def create_token():
    """Create a named API token; its secret is in this answer only."""
    token, secret = tokens.create_api_token(caller(), request_data().get("name"))
    return json_response(api_token_json(token, secret), 201)


@route("/tokens/<int:token_id>/", methods=["DELETE"])
@login_required
def revoke_token(token_id):
    """Revoke one of the caller's API tokens."""
    tokens.revoke_api_token(caller(), token_id)
    return no_content()
