"""Projects and their sharing with other users (and with groups: models.group)."""
from webapp.extensions import db
from webapp.models.base import NEVER_REUSE_IDS, utcnow


class Project(db.Model):
    """A named group of tasks owned by one user, shareable with others."""

    __table_args__ = NEVER_REUSE_IDS

    id = db.Column(db.Integer, primary_key=True)
    owner_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(db.String(255), nullable=False)
    description = db.Column(db.Text, nullable=False, default="")
    public = db.Column(db.Boolean, nullable=False, default=False)
    # WebODM's: words separated by single spaces, each checked by services.parsing.clean_tags.
    tags = db.Column(db.Text, nullable=False, default="", server_default="")
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=utcnow)

    owner = db.relationship("User")
    # The ORM deletes a project's shares and tasks itself (no passive_deletes): SQLite enforces ON DELETE CASCADE
    # only with PRAGMA foreign_keys=ON, so rows left behind would linger (and databases older than
    # NEVER_REUSE_IDS gave a deleted project's id again, with the old one's shares and tasks).
    shares = db.relationship("ProjectShare", back_populates="project", cascade="all, delete-orphan")
    group_shares = db.relationship("ProjectGroupShare", back_populates="project", cascade="all, delete-orphan")
    tasks = db.relationship("Task", back_populates="project", cascade="all, delete-orphan", order_by="Task.id")

    def __repr__(self):
        return f"<Project {self.id} {self.name!r}>"


class ProjectShare(db.Model):
    """What one user other than the owner may do with a project."""

    __table_args__ = (db.UniqueConstraint("project_id", "user_id"), NEVER_REUSE_IDS)

    id = db.Column(db.Integer, primary_key=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), nullable=False)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    can_view = db.Column(db.Boolean, nullable=False, default=True)
    can_add = db.Column(db.Boolean, nullable=False, default=False)
    can_change = db.Column(db.Boolean, nullable=False, default=False)
    can_delete = db.Column(db.Boolean, nullable=False, default=False)

    project = db.relationship(Project, back_populates="shares")
    user = db.relationship("User")

    @property
    def permissions(self):
        """The granted permissions as API names, in the order of enums.PERMISSIONS."""
        return [name for name in ("view", "add", "change", "delete") if getattr(self, f"can_{name}")]
