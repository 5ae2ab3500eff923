"""Accounts: first-run setup, users, passwords."""
from webapp.extensions import db
from webapp.models import User
from webapp.models.base import utcnow
from webapp.services.errors import NotFound, ValidationError

MIN_PASSWORD_LENGTH = 8


def needs_setup():
    """True until the first user (the administrator) exists."""
    return db.session.query(User.id).first() is None


def check_password_rules(password, field="password"):
    """Raise ValidationError when a new password is too weak."""
    if len(password or "") < MIN_PASSWORD_LENGTH:
        raise ValidationError(field_errors={field: [f"Use at least {MIN_PASSWORD_LENGTH} characters."]})


def create_user(username, password, email="", is_admin=False):
    """Create a user; the username must be new (case-insensitively)."""
    username = (username or "").strip()
    if not username:
        raise ValidationError(field_errors={"username": ["This field is required."]})
    if find_user(username) is not None:
        raise ValidationError(field_errors={"username": ["A user with that username already exists."]})
    check_password_rules(password)
    user = User(username=username, email=(email or "").strip(), is_admin=is_admin)
    user.set_password(password)
    db.session.add(user)
    db.session.commit()
    return user


def create_first_admin(username, password, email=""):
    """Create the administrator on first run; refused once any user exists."""
    if not needs_setup():
        raise ValidationError("Aerie is already set up: log in instead.")
    return create_user(username, password, email=email, is_admin=True)


def find_user(username):
    """The user with this username (case-insensitive), or None."""
    return User.query.filter(db.func.lower(User.username) == (username or "").strip().lower()).first()


def authenticate(username, password):
    """The active user with these credentials, or None; records the login time."""
    user = find_user(username)
    if user is None or not user.active or not user.check_password(password or ""):
        return None
    user.last_login = utcnow()
    db.session.commit()
    return user


def change_password(user, current_password, new_password):
    """Change a user's own password, checking the current one first."""
    if not user.check_password(current_password or ""):
        raise ValidationError(field_errors={"current_password": ["The current password is wrong."]})
    check_password_rules(new_password, field="new_password")
    user.set_password(new_password)
    db.session.commit()


def get_user(user_id):
    """A user by id, or NotFound."""
    user = db.session.get(User, user_id)
    if user is None:
        raise NotFound()
    return user
