"""The account page: who one is, and one's named API tokens (create, list, revoke)."""
from flask import Blueprint, flash, redirect, render_template, url_for
from flask_login import current_user, login_required

from webapp.forms.tokens import ApiTokenForm
from webapp.forms.helpers import add_service_errors
from webapp.services import tokens
from webapp.services.errors import ValidationError

bp = Blueprint("account", __name__, url_prefix="/account")


def _render(form=None, new_token=None, new_secret=None, status=200):
    """The account page; new_secret is shown once, right after its token was created, and never again."""
    page = render_template("account/index.html", form=form or ApiTokenForm(formdata=None),
                           api_tokens=tokens.list_api_tokens(current_user),
                           new_token=new_token, new_secret=new_secret)
    return page, status


@bp.route("")
@login_required
def index():
    """One's account and API tokens."""
    return _render()


@bp.route("/tokens", methods=["POST"])
@login_required
def create_token():
    """Create a named API token and show it once (rendered, not flashed: flashes live in the session cookie)."""
    form = ApiTokenForm()
    if form.validate_on_submit():
        try:
            token, secret = tokens.create_api_token(current_user, form.name.data)
        except ValidationError as error:
            add_service_errors(form, error)
        else:
            return _render(new_token=token, new_secret=secret, status=200)
    return _render(form=form, status=400)


@bp.route("/tokens/<int:token_id>/revoke", methods=["POST"])
@login_required
def revoke_token(token_id):
    """Revoke one of one's API tokens: it stops working at once."""
    tokens.revoke_api_token(current_user, token_id)
    flash("The API token was revoked.", "success")
    return redirect(url_for("account.index"))
