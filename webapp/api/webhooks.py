"""Webhooks from processing nodes: a node POSTs here when a task ends, so its results are fetched at once.

The URL carries an HMAC of the task id (services.ticks.webhook_token) instead of a login: only the node that
was given the URL can call it, and all a call can do is wake the task's tick, which then asks the node itself.
"""
from flask import jsonify

from webapp.api.blueprint import route
from webapp.api.errors import api_error_response
from webapp.services import ticks


@route("/webhooks/task/<int:task_id>/<token>", methods=["POST"])
def task_webhook(task_id, token):
    """Wake the tick of a task whose node says it ended; 404 for a wrong token."""
    if not ticks.webhook_received(task_id, token):
        return api_error_response(404)
    return jsonify(success=True)
