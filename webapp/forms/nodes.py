"""Forms of processing nodes."""
from flask_wtf import FlaskForm
from wtforms import StringField
from wtforms.validators import DataRequired, Length


class NodeForm(FlaskForm):
    """Where a processing node listens, its token and a label (the service checks host and port)."""

    hostname = StringField("Host name or address", validators=[DataRequired(), Length(max=255)])
    # A text field, so the service's own message explains a bad port instead of a generic "not an integer".
    port = StringField("Port", validators=[DataRequired()], default="3000")
    token = StringField("Token (optional)", validators=[Length(max=1024)])
    label = StringField("Label (optional)", validators=[Length(max=255)])

    def data_for_service(self):
        """The fields as services.nodes takes them."""
        return {"hostname": self.hostname.data, "port": self.port.data, "token": self.token.data or "",
                "label": self.label.data or ""}
