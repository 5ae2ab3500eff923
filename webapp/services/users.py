"""Administering user accounts: disabling, resetting passwords, granting the administrator role."""
from webapp.extensions import db
from webapp.models import User
from webapp.services.accounts import check_password_rules, get_user
from webapp.services.errors import ValidationError

__all__ = ["get_user", "list_users", "reset_password", "set_active", "set_admin"]


def list_users():
    """Every user account, by username."""
    return User.query.order_by(db.func.lower(User.username)).all()


def _other_active_admins(user):
    """How many active administrators there are besides user."""
    return User.query.filter(User.is_admin.is_(True), User.active.is_(True), User.id != user.id).count()


def set_active(actor, user, active):
    """Enable or disable user's account; a disabled user cannot log in, and their sessions and tokens stop working."""
    if not active and user.id == actor.id:
        raise ValidationError("You cannot disable your own account.")
    if not active and user.is_admin and _other_active_admins(user) == 0:
        raise ValidationError("Aerie needs at least one active administrator.")
    user.active = bool(active)
    db.session.commit()
    return user


def set_admin(actor, user, is_admin):
    """Grant or withdraw the administrator role; an administrator cannot withdraw their own (no lock-out)."""
    if not is_admin and user.id == actor.id:
        raise ValidationError("You cannot remove your own administrator role.")
    if not is_admin and user.is_admin and user.active and _other_active_admins(user) == 0:
        raise ValidationError("Aerie needs at least one active administrator.")
    user.is_admin = bool(is_admin)
    db.session.commit()
    return user


def reset_password(user, new_password):
    """Give user a new password chosen by an administrator (no current password needed)."""
    check_password_rules(new_password, field="new_password")
    user.set_password(new_password)
    db.session.commit()
    return user
