"""Forms of the administrators' pages: user actions and the job queues."""
from flask_wtf import FlaskForm
from wtforms import PasswordField
from wtforms.validators import DataRequired, EqualTo, Length

from webapp.services.accounts import MIN_PASSWORD_LENGTH


class ActionForm(FlaskForm):
    """A button that changes something: nothing but its CSRF token."""


class ResetPasswordForm(FlaskForm):
    """A new password for another user, twice."""

    new_password = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)])
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("new_password", "The passwords differ.")])
