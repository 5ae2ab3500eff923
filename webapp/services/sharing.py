"""Sharing a project: who besides the owner may view, add to, change or delete it."""
from webapp.extensions import db
from webapp.models import PERMISSIONS, ProjectShare
from webapp.services import accounts
from webapp.services.errors import ValidationError
from webapp.services.parsing import clean_name


def project_sharing(project):
    """[{"username", "owner", "permissions"}]: the owner first, then the users it is shared with, by name."""
    entries = [{"username": project.owner.username, "owner": True, "permissions": list(PERMISSIONS)}]
    shares = sorted(project.shares, key=lambda share: share.user.username.lower())
    entries += [{"username": s.user.username, "owner": False, "permissions": s.permissions}
                for s in shares if s.permissions]
    return entries


def _clean_entries(project, entries):
    """{user: set of permissions} from [{"username", "permissions"}], or ValidationError naming what is wrong."""
    if not isinstance(entries, list):
        raise ValidationError(field_errors={"permissions": ["Expected a list of {username, permissions}."]})
    wanted = {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("permissions", []), list):
            raise ValidationError(field_errors={"permissions": ["Expected a list of {username, permissions}."]})
        user = accounts.find_user(str(entry.get("username") or ""))
        if user is None:
            raise ValidationError(field_errors={"permissions": [f"No user named {entry.get('username')!r}."]})
        unknown = [p for p in entry.get("permissions", []) if p not in PERMISSIONS]
        if unknown:
            raise ValidationError(field_errors={"permissions": [
                f"Unknown permission {unknown[0]!r}: use {', '.join(PERMISSIONS)}."]})
        if user.id == project.owner_id:
            continue  # the owner keeps every permission whatever the list says
        granted = set(entry.get("permissions", []))
        if granted:
            granted.add("view")  # adding, changing or deleting implies seeing
        wanted[user] = granted
    return wanted


def set_sharing(project, entries):
    """Replace the project's sharing list (never the owner's) by entries [{"username", "permissions"}]."""
    wanted = _clean_entries(project, entries)
    existing = {share.user_id: share for share in project.shares}
    for user, granted in wanted.items():
        share = existing.pop(user.id, None)
        if not granted:
            if share is not None:
                db.session.delete(share)
            continue
        if share is None:
            share = ProjectShare(project_id=project.id, user_id=user.id)
            db.session.add(share)
        for name in PERMISSIONS:
            setattr(share, f"can_{name}", name in granted)
    for share in existing.values():  # users left out of the list lose their access
        db.session.delete(share)
    db.session.commit()
    db.session.refresh(project)
    return project


def edit_project(project, name=None, description=None, permissions=None):
    """Change name and description and, when permissions is given, replace the sharing list; all or nothing."""
    wanted_name = clean_name(name) if name is not None else None
    if permissions is not None:
        _clean_entries(project, permissions)  # validate before changing anything
    if wanted_name is not None:
        project.name = wanted_name
    if description is not None:
        project.description = str(description).strip()
    if permissions is not None:
        return set_sharing(project, permissions)
    db.session.commit()
    return project
