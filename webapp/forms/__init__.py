"""Flask-WTF forms (CSRF-protected)."""
