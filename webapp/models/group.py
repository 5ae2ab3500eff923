"""Groups (teams) of users, and projects shared with a whole group."""
from webapp.extensions import db
from webapp.models.base import NEVER_REUSE_IDS, utcnow

# Who is in which group. Rows go with their group or user (the ORM removes them: see Project.shares on why).
group_member = db.Table(
    "group_member",
    db.Column("group_id", db.Integer, db.ForeignKey("group.id", ondelete="CASCADE"), primary_key=True),
    db.Column("user_id", db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), primary_key=True, index=True),
)


class Group(db.Model):
    """A named team of users that administrators manage; projects can be shared with it as with one user."""

    __tablename__ = "group"
    __table_args__ = NEVER_REUSE_IDS

    id = db.Column(db.Integer, primary_key=True)
    name = db.Column(db.String(150), unique=True, nullable=False)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=utcnow)

    members = db.relationship("User", secondary=group_member, order_by="User.username",
                              backref=db.backref("groups", order_by="Group.name"))
    project_shares = db.relationship("ProjectGroupShare", back_populates="group", cascade="all, delete-orphan")

    def __repr__(self):
        return f"<Group {self.id} {self.name!r}>"


class ProjectGroupShare(db.Model):
    """What the members of one group may do with a project (the same flags as a ProjectShare)."""

    __table_args__ = (db.UniqueConstraint("project_id", "group_id"), NEVER_REUSE_IDS)

    id = db.Column(db.Integer, primary_key=True)
    project_id = db.Column(db.Integer, db.ForeignKey("project.id", ondelete="CASCADE"), nullable=False)
    group_id = db.Column(db.Integer, db.ForeignKey("group.id", ondelete="CASCADE"), nullable=False, index=True)
    can_view = db.Column(db.Boolean, nullable=False, default=True)
    can_add = db.Column(db.Boolean, nullable=False, default=False)
    can_change = db.Column(db.Boolean, nullable=False, default=False)
    can_delete = db.Column(db.Boolean, nullable=False, default=False)

    project = db.relationship("Project", back_populates="group_shares")
    group = db.relationship(Group, back_populates="project_shares")

    @property
    def permissions(self):
        """The granted permissions as API names, in the order of enums.PERMISSIONS."""
        return [name for name in ("view", "add", "change", "delete") if getattr(self, f"can_{name}")]
