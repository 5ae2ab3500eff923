"""Processing nodes: servers speaking the NodeODM API, and saved option presets."""
from datetime import timedelta

from webapp.extensions import db
from webapp.models.base import NEVER_REUSE_IDS, utcnow


class ProcessingNode(db.Model):
    """A NodeODM-compatible server; its info is refreshed periodically from /info and /options."""

    __table_args__ = (db.UniqueConstraint("hostname", "port"), NEVER_REUSE_IDS)

    id = db.Column(db.Integer, primary_key=True)
    hostname = db.Column(db.String(255), nullable=False)
    port = db.Column(db.Integer, nullable=False)
    token = db.Column(db.String(1024), nullable=False, default="")
    label = db.Column(db.String(255), nullable=False, default="")
    api_version = db.Column(db.String(32), nullable=False, default="")
    engine = db.Column(db.String(64), nullable=False, default="")
    engine_version = db.Column(db.String(64), nullable=False, default="")
    queue_count = db.Column(db.Integer, nullable=False, default=0)
    max_images = db.Column(db.Integer)  # None: no limit
    last_refreshed = db.Column(db.DateTime(timezone=True))  # last time /info answered
    available_options = db.Column(db.JSON, nullable=False, default=list)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=utcnow)

    def display_label(self):
        """The label, or host:port when it has none."""
        return node_label(self.label, self.hostname, self.port)

    def is_online(self, offline_after_seconds=300, now=None):
        """Whether /info answered within the last offline_after_seconds."""
        if self.last_refreshed is None:
            return False
        last = self.last_refreshed
        if last.tzinfo is None:  # SQLite gives naive datetimes back
            last = last.replace(tzinfo=(now or utcnow()).tzinfo)
        return (now or utcnow()) - last <= timedelta(seconds=offline_after_seconds)

    def __repr__(self):
        return f"<ProcessingNode {self.id} {self.display_label()}>"


class Preset(db.Model):
    """A saved set of task options; system presets (owner None) are offered to everyone."""

    __table_args__ = NEVER_REUSE_IDS

    id = db.Column(db.Integer, primary_key=True)
    owner_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), index=True)
    name = db.Column(db.String(255), nullable=False)
    options = db.Column(db.JSON, nullable=False, default=list)
    system = db.Column(db.Boolean, nullable=False, default=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=utcnow)


def node_label(label, hostname, port):
    """A node's display label from its columns: the label, or host:port when it has none."""
    return label or f"{hostname}:{port}"
