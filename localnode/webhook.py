"""Webhooks: tell a client that a task ended by POSTing its info, best effort, in the background."""
import logging
import threading

import requests

log = logging.getLogger(__name__)
TIMEOUT_SECONDS = 5


def send_webhook(url, info):
    """POST the task info JSON to url from a background thread; failures are logged, never raised."""
    if url:
        threading.Thread(target=_post, args=(url, info), name="webhook", daemon=True).start()


def _post(url, info):
    """Make the webhook request once, with a short timeout."""
    try:
        requests.post(url, json=info, timeout=TIMEOUT_SECONDS)
    except requests.RequestException as problem:
        log.warning("webhook %s for task %s failed: %s", url, info.get("uuid"), problem)
