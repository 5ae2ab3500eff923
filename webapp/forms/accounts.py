"""Forms of accounts: first-run setup, login, password change, user creation."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, EmailField, PasswordField, StringField
from wtforms.validators import DataRequired, EqualTo, Length, Optional

from webapp.services.accounts import MIN_PASSWORD_LENGTH


class LoginForm(FlaskForm):
    """Username and password."""

    username = StringField("Username", validators=[DataRequired()])
    password = PasswordField("Password", validators=[DataRequired()])


class UserForm(FlaskForm):
    """A new account: used by first-run setup and by administrators."""

    username = StringField("Username", validators=[DataRequired(), Length(max=150)])
    email = EmailField("Email (optional)", validators=[Optional(), Length(max=254)])
    password = PasswordField("Password", validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)])
    confirm = PasswordField("Repeat password", validators=[DataRequired(), EqualTo("password", "The passwords differ.")])


class NewUserForm(UserForm):
    """A new account created by an administrator, who may make it an administrator too."""

    is_admin = BooleanField("Administrator")


class ChangePasswordForm(FlaskForm):
    """The current password, and the new one twice."""

    current_password = PasswordField("Current password", validators=[DataRequired()])
    new_password = PasswordField("New password", validators=[DataRequired(), Length(min=MIN_PASSWORD_LENGTH)])
    confirm = PasswordField("Repeat new password",
                            validators=[DataRequired(), EqualTo("new_password", "The passwords differ.")])
