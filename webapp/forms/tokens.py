"""Forms of named API tokens."""
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class ApiTokenForm(FlaskForm):
    """The name of a new API token, to tell it apart from the others."""

    name = StringField("Token name", validators=[DataRequired(), Length(max=100)],
                       description="Such as the script or machine that will use it.")
