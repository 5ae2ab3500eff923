"""Groups (teams) of users that administrators manage: create, rename, delete, members.

A project shared with a group gives its members that access (services.projects.project_permissions); taking a
user out of a group, or deleting the group, ends that access at the next request, since nothing is cached.
"""
from webapp.extensions import db
from webapp.models import Group
from webapp.services import accounts
from webapp.services.errors import NotFound, ValidationError
from webapp.services.parsing import clean_name

MAX_GROUP_NAME_LENGTH = 150


def list_groups(name=None, search=None, limit=None):
    """The groups by name; only the one called name, or those whose name starts with search (WebODM's filters)."""
    query = Group.query.order_by(db.func.lower(Group.name))
    if name is not None:
        query = query.filter(Group.name == name)
    if search:
        query = query.filter(db.func.lower(Group.name).startswith(search.lower(), autoescape=True))
    if limit is not None:
        query = query.limit(limit)
    return query.all()


def count_groups():
    """How many groups there are."""
    return Group.query.count()


def get_group(group_id):
    """A group by id, or NotFound."""
    group = db.session.get(Group, group_id)
    if group is None:
        raise NotFound()
    return group


def find_group(name):
    """The group with this name (case-insensitive), or None."""
    return Group.query.filter(db.func.lower(Group.name) == str(name or "").strip().lower()).first()


def _clean_group_name(name, group=None):
    """A new name for group (None: a new group), or ValidationError: empty, too long, or another group's."""
    name = clean_name(name)
    if len(name) > MAX_GROUP_NAME_LENGTH:
        raise ValidationError(field_errors={"name": [f"At most {MAX_GROUP_NAME_LENGTH} characters."]})
    other = find_group(name)
    if other is not None and other is not group:
        raise ValidationError(field_errors={"name": [f"A group named “{other.name}” already exists."]})
    return name


def _users_named(usernames):
    """The users with these usernames, or ValidationError naming the first unknown one."""
    if not isinstance(usernames, list) or not all(isinstance(name, str) for name in usernames):
        raise ValidationError(field_errors={"members": ["Expected a list of usernames."]})
    users = []
    for username in usernames:
        user = accounts.find_user(username)
        if user is None:
            raise ValidationError(field_errors={"members": [f"No user named “{username}”."]})
        if user not in users:
            users.append(user)
    return users


def create_group(name, members=None):
    """A new group with this name (and these usernames as members); all checked before anything is stored."""
    name = _clean_group_name(name)
    users = _users_named(members) if members is not None else []
    group = Group(name=name, members=users)
    db.session.add(group)
    db.session.commit()
    return group


def update_group(group, name=None, members=None):
    """Rename a group and, when members (usernames) is given, replace its members; all or nothing."""
    new_name = _clean_group_name(name, group) if name is not None else None
    users = _users_named(members) if members is not None else None
    if new_name is not None:
        group.name = new_name
    if users is not None:
        group.members = users
    db.session.commit()
    return group


def add_member(group, username):
    """Put the user called username in group (nothing changes if they already are); the user, or ValidationError."""
    user = accounts.find_user(username)
    if user is None:
        raise ValidationError(field_errors={"username": [f"No user named “{str(username).strip()}”."]})
    if user not in group.members:
        group.members.append(user)
        db.session.commit()
    return user


def remove_member(group, user_id):
    """Take a user out of group: they lose at once what the group's shares gave them. NotFound if not a member."""
    user = next((member for member in group.members if member.id == user_id), None)
    if user is None:
        raise NotFound()
    group.members.remove(user)
    db.session.commit()
    return user


def delete_group(group):
    """Delete a group, its memberships and the project shares made with it (projects and users stay)."""
    db.session.delete(group)
    db.session.commit()
