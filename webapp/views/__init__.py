"""HTML blueprints: each view parses its form, calls one service, then flashes and redirects or renders."""
from flask import redirect, request, url_for
from flask_login import current_user

from webapp.extensions import db, login_manager
from webapp.models import User
from webapp.services import accounts

# Endpoints reachable before the administrator exists.
SETUP_EXEMPT = {"auth.setup", "static", "vendor.file"}


@login_manager.user_loader
def load_user(user_id):
    """The logged-in user of a session (None for a disabled or removed one, which logs them out)."""
    user = db.session.get(User, int(user_id))
    return user if user is not None and user.active else None


def _redirect_to_setup():
    """Before any page, send visitors to first-run setup until the administrator exists."""
    if request.blueprint == "api" or request.endpoint in SETUP_EXEMPT:
        return None
    if current_user.is_authenticated or not accounts.needs_setup():
        return None
    return redirect(url_for("auth.setup"))


def register_views(app):
    """Register the HTML blueprints and the first-run redirect."""
    from webapp.views.account import bp as account_bp
    from webapp.views.admin import bp as admin_bp
    from webapp.views.api_docs import bp as api_docs_bp
    from webapp.views.auth import bp as auth_bp
    from webapp.views.dashboard import bp as dashboard_bp
    from webapp.views.imports import bp as imports_bp
    from webapp.views.maps import bp as maps_bp
    from webapp.views.nodes import bp as nodes_bp
    from webapp.views.presets import bp as presets_bp
    from webapp.views.projects import bp as projects_bp
    from webapp.views.task_display import register_task_display
    from webapp.views.tasks import bp as tasks_bp
    from webapp.views.vendor import bp as vendor_bp
    from webapp.views.view3d import bp as view3d_bp

    login_manager.login_view = "auth.login"
    login_manager.login_message = "Please log in to see this page."
    login_manager.login_message_category = "info"
    for blueprint in (auth_bp, dashboard_bp, admin_bp, vendor_bp, tasks_bp, presets_bp, projects_bp, nodes_bp,
                      account_bp, maps_bp, view3d_bp, api_docs_bp, imports_bp):
        app.register_blueprint(blueprint)
    register_task_display(app)
    app.before_request(_redirect_to_setup)
