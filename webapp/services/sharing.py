"""Sharing a project: which users and groups besides the owner may view, add to, change or delete it.

The list has WebODM's shape: {"username", "owner", "permissions"} for users, {"groupname", "permissions"} for
groups (an entry with a groupname is a group's, whatever else it holds).
"""
from webapp.extensions import db
from webapp.models import PERMISSIONS, ProjectGroupShare, ProjectShare
from webapp.services import accounts, groups
from webapp.services.errors import ValidationError
from webapp.services.parsing import clean_name

BAD_LIST = "Expected a list of {username, permissions} or {groupname, permissions}."


def project_sharing(project):
    """The owner first, then the users the project is shared with, then the groups, each by name."""
    entries = [{"username": project.owner.username, "owner": True, "permissions": list(PERMISSIONS)}]
    shares = sorted(project.shares, key=lambda share: share.user.username.lower())
    entries += [{"username": s.user.username, "owner": False, "permissions": s.permissions}
                for s in shares if s.permissions]
    group_shares = sorted(project.group_shares, key=lambda share: share.group.name.lower())
    entries += [{"groupname": s.group.name, "permissions": s.permissions} for s in group_shares if s.permissions]
    return entries


def _clean_permissions(entry):
    """The set of permissions an entry grants ("view" added to any other), or ValidationError."""
    unknown = [p for p in entry.get("permissions", []) if p not in PERMISSIONS]
    if unknown:
        raise ValidationError(field_errors={"permissions": [
            f"Unknown permission {unknown[0]!r}: use {', '.join(PERMISSIONS)}."]})
    granted = set(entry.get("permissions", []))
    if granted:
        granted.add("view")  # adding, changing or deleting implies seeing
    return granted


def _clean_entries(project, entries):
    """({user: permissions}, {group: permissions}) from the sharing list, or ValidationError naming what is wrong."""
    if not isinstance(entries, list):
        raise ValidationError(field_errors={"permissions": [BAD_LIST]})
    users, wanted_groups = {}, {}
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("permissions", []), list):
            raise ValidationError(field_errors={"permissions": [BAD_LIST]})
        if entry.get("groupname"):
            group = groups.find_group(str(entry["groupname"]))
            if group is None:
                raise ValidationError(field_errors={"permissions": [f"No group named {entry['groupname']!r}."]})
            wanted_groups[group] = _clean_permissions(entry)
            continue
        user = accounts.find_user(str(entry.get("username") or ""))
        if user is None:
            raise ValidationError(field_errors={"permissions": [f"No user named {entry.get('username')!r}."]})
        granted = _clean_permissions(entry)
        if user.id != project.owner_id:  # the owner keeps every permission whatever the list says
            users[user] = granted
    return users, wanted_groups


def _replace_shares(shares, wanted, make_share, key):
    """Make the share rows `shares` grant what `wanted` ({user or group: permissions}) says; rows left out go."""
    existing = {key(share): share for share in shares}
    for holder, granted in wanted.items():
        share = existing.pop(holder.id, None)
        if not granted:
            if share is not None:
                db.session.delete(share)
            continue
        if share is None:
            share = make_share(holder)
            db.session.add(share)
        for name in PERMISSIONS:
            setattr(share, f"can_{name}", name in granted)
    for share in existing.values():  # users and groups left out of the list lose their access
        db.session.delete(share)


def set_sharing(project, entries):
    """Replace the project's sharing list (never the owner's) by entries, users' and groups'."""
    wanted_users, wanted_groups = _clean_entries(project, entries)
    _replace_shares(project.shares, wanted_users, lambda user: ProjectShare(project_id=project.id, user_id=user.id),
                    key=lambda share: share.user_id)
    _replace_shares(project.group_shares, wanted_groups,
                    lambda group: ProjectGroupShare(project_id=project.id, group_id=group.id),
                    key=lambda share: share.group_id)
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
