"""Processing tasks: a set of images sent to a processing node, and the results it returns."""
from webapp.extensions import db
from webapp.models.base import NEVER_REUSE_IDS, utcnow


class Task(db.Model):
    """One processing run; the columns follow the Task fields of docs/API.md, plus pipeline bookkeeping."""

    __table_args__ = NEVER_REUSE_IDS

    id = db.Column(db.Integer, primary_key=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), nullable=False, index=True)
    processing_node_id = db.Column(db.Integer, db.ForeignKey("processing_node.id", ondelete="SET NULL"))
    images_count = db.Column(db.Integer, nullable=False, default=0)
    uuid = db.Column(db.String(64), nullable=False, default="")  # the node's id, "" until uploaded to it
    name = db.Column(db.String(255), nullable=False, default="")
    processing_time = db.Column(db.BigInteger, nullable=False, default=-1)  # milliseconds, -1 unknown
    auto_processing_node = db.Column(db.Boolean, nullable=False, default=True)
    status = db.Column(db.Integer, index=True)  # enums.TaskStatus, None before it reached a node
    last_error = db.Column(db.Text)
    options = db.Column(db.JSON, nullable=False, default=list)  # [{"name", "value"}] as the client sent them
    ground_control_points = db.Column(db.String(255))
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=utcnow)
    pending_action = db.Column(db.Integer, index=True)  # enums.PendingAction
    available_assets = db.Column(db.JSON, nullable=False, default=list)
    upload_progress = db.Column(db.Float, nullable=False, default=0.0)
    running_progress = db.Column(db.Float, nullable=False, default=0.0)
    partial = db.Column(db.Boolean, nullable=False, default=False)
    public = db.Column(db.Boolean, nullable=False, default=False)
    size = db.Column(db.Float, nullable=False, default=0.0)  # MB on disk

    # Pipeline bookkeeping (not in the API).
    updated_at = db.Column(db.DateTime(timezone=True), nullable=False, default=utcnow, onupdate=utcnow)
    upload_uuid = db.Column(db.String(64))  # chosen before uploading to the node, so a resumed upload finds it
    console_lines = db.Column(db.Integer, nullable=False, default=0)  # node console lines already stored
    node_error_since = db.Column(db.DateTime(timezone=True))  # first of a run of transient node errors
    import_url = db.Column(db.String(2048))  # results to import instead of processing
    extent = db.Column(db.JSON)  # [w, s, e, n] in WGS84 of the results, for maps

    project = db.relationship("Project", back_populates="tasks")
    processing_node = db.relationship("ProcessingNode")

    def __repr__(self):
        return f"<Task {self.id} {self.name!r} status={self.status}>"
