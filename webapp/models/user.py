"""Accounts: users and their long-lived API tokens."""
from flask_login import UserMixin
from werkzeug.security import check_password_hash, generate_password_hash

from webapp.extensions import db
from webapp.models.base import NEVER_REUSE_IDS, utcnow


class User(UserMixin, db.Model):
    """A person who logs in; administrators manage users and processing nodes."""

    __table_args__ = NEVER_REUSE_IDS

    id = db.Column(db.Integer, primary_key=True)
    username = db.Column(db.String(150), unique=True, nullable=False)
    email = db.Column(db.String(254), nullable=False, default="")
    password_hash = db.Column(db.String(255), nullable=False)
    is_admin = db.Column(db.Boolean, nullable=False, default=False)
    active = db.Column(db.Boolean, nullable=False, default=True)
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=utcnow)
    last_login = db.Column(db.DateTime(timezone=True))

    @property
    def is_active(self):
        """A disabled user cannot log in (Flask-Login reads this)."""
        return self.active

    def set_password(self, password):
        """Store a salted hash of the password (scrypt, werkzeug's current default)."""
        self.password_hash = generate_password_hash(password)

    def check_password(self, password):
        """Whether the password matches the stored hash."""
        return check_password_hash(self.password_hash, password)

    def __repr__(self):
        return f"<User {self.username}>"


class ApiToken(db.Model):
    """A named long-lived API token; only its hash is stored, so a leaked database leaks no token."""

    __table_args__ = NEVER_REUSE_IDS

    id = db.Column(db.Integer, primary_key=True)
    user_id = db.Column(db.Integer, db.ForeignKey("user.id", ondelete="CASCADE"), nullable=False, index=True)
    name = db.Column(db.String(100), nullable=False)
    token_hash = db.Column(db.String(64), unique=True, nullable=False)
    prefix = db.Column(db.String(12), nullable=False)  # shown in lists so the user can tell tokens apart
    created_at = db.Column(db.DateTime(timezone=True), nullable=False, default=utcnow)
    last_used_at = db.Column(db.DateTime(timezone=True))

    user = db.relationship(User, backref=db.backref("api_tokens", cascade="all, delete-orphan", passive_deletes=True))
