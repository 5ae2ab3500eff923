"""Forms of the administrators' pages: user actions, groups and the job queues."""
from flask_wtf import FlaskForm
from wtforms import PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length

from webapp.services.accounts import MIN_PASSWORD_LENGTH
from webapp.services.groups import MAX_GROUP_NAME_LENGTH


class ActionForm(FlaskForm):
    """A button that changes something: nothing but its CSRF token."""


class ResetPasswordForm(FlaskForm):
    """A new password for another user, twice."""

    new_password = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)])
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("new_password", "The passwords differ.")])


class GroupForm(FlaskForm):
    """A group's name (to create the group, or rename it)."""

    name = StringField("Group name", validators=[DataRequired(), Length(max=MAX_GROUP_NAME_LENGTH)])


class MemberForm(FlaskForm):
    """A user to put in a group, by username."""

    username = StringField("Username", validators=[DataRequired(), Length(max=150)])
