"""The only global app: the flask CLI and gunicorn load it (app:app)."""
from webapp import create_app

app = create_app()
