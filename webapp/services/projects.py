"""Projects and who may do what with them. Tasks inherit their project's permissions."""
from collections import defaultdict

from sqlalchemy import or_, select, union_all

from webapp import storage
from webapp.extensions import db
from webapp.models import PERMISSIONS, Group, Project, ProjectGroupShare, ProjectShare, group_member
from webapp.services.errors import NotFound, ValidationError
from webapp.services.ordering import apply_ordering
from webapp.services.parsing import clean_bool, clean_name, clean_tags, split_search
from webapp.services.removals import node_copies, queue_node_removals


# Project ids per query of permissions_by_project: well under SQLite's limit of bound parameters.
IDS_PER_QUERY = 500


def _granted_rows(user, project_ids):
    """The (project_id, can_view, can_add, can_change, can_delete) rows that give user access to these projects:
    their own shares and the shares of each group they are in."""
    own = select(ProjectShare.project_id, ProjectShare.can_view, ProjectShare.can_add, ProjectShare.can_change,
                 ProjectShare.can_delete) \
        .where(ProjectShare.project_id.in_(project_ids), ProjectShare.user_id == user.id)
    through_groups = select(ProjectGroupShare.project_id, ProjectGroupShare.can_view, ProjectGroupShare.can_add,
                            ProjectGroupShare.can_change, ProjectGroupShare.can_delete) \
        .join(group_member, group_member.c.group_id == ProjectGroupShare.group_id) \
        .where(ProjectGroupShare.project_id.in_(project_ids), group_member.c.user_id == user.id)
    return db.session.execute(union_all(own, through_groups)).all()


def _granted(user, projects):
    """{project id: set of permission names} that shares (own and groups') give user; grants without view give none."""
    granted = defaultdict(set)
    ids = [project.id for project in projects]
    for start in range(0, len(ids), IDS_PER_QUERY):
        for project_id, can_view, *flags in _granted_rows(user, ids[start:start + IDS_PER_QUERY]):
            if can_view:
                granted[project_id].update(name for name, flag in zip(PERMISSIONS[1:], flags) if flag)
                granted[project_id].add("view")
    return granted


def permissions_by_project(user, projects):
    """{project id: what user may do with it}, as API names in the order of PERMISSIONS, for many projects at once.

    This is the one place that decides (project_permissions and visible_projects follow it): the owner and
    administrators may do everything; anyone else what their own share and the shares of their groups give,
    together (the levels are nested, so that is the highest of them); visitors of a public project may view it."""
    if user is not None and user.is_authenticated and not user.is_admin:
        granted = _granted(user, [project for project in projects if project.owner_id != user.id])
    else:
        granted = {}
    return {project.id: _permissions(user, project, granted.get(project.id)) for project in projects}


def _permissions(user, project, granted):
    """What user may do with project, given what their shares grant (a set, or None for nothing)."""
    if user is not None and user.is_authenticated and (user.is_admin or project.owner_id == user.id):
        return list(PERMISSIONS)
    if granted:
        return [name for name in PERMISSIONS if name in granted]
    return ["view"] if project.public else []


def project_permissions(user, project):
    """What user may do with project, as API names in the order of PERMISSIONS (see permissions_by_project)."""
    return permissions_by_project(user, [project])[project.id]


def visible_projects(user):
    """A query of the projects user may view: owned, shared with them or a group of theirs, or all for
    administrators (the same rule as project_permissions, as SQL)."""
    query = Project.query
    if not user.is_admin:
        shared_ids = select(ProjectShare.project_id).where(
            ProjectShare.user_id == user.id, ProjectShare.can_view.is_(True))
        group_ids = select(ProjectGroupShare.project_id) \
            .join(group_member, group_member.c.group_id == ProjectGroupShare.group_id) \
            .where(group_member.c.user_id == user.id, ProjectGroupShare.can_view.is_(True))
        query = query.filter(or_(Project.owner_id == user.id, Project.id.in_(shared_ids), Project.id.in_(group_ids)))
    return query


def groups_sharing(user, project):
    """The names of user's groups the project is shared with (for viewing), by name."""
    query = select(Group.name).join(ProjectGroupShare, ProjectGroupShare.group_id == Group.id) \
        .join(group_member, group_member.c.group_id == Group.id) \
        .where(ProjectGroupShare.project_id == project.id, ProjectGroupShare.can_view.is_(True),
               group_member.c.user_id == user.id).order_by(Group.name)
    return list(db.session.scalars(query))


def get_project_for(user, project_id, permission="view"):
    """The project if user has permission on it, else NotFound (so that ids cannot be probed)."""
    project = db.session.get(Project, project_id)
    if project is None or permission not in project_permissions(user, project):
        raise NotFound()
    return project


def create_project(owner, name, description="", tags=""):
    """Create a project owned by owner."""
    project = Project(owner_id=owner.id, name=clean_name(name), description=str(description or "").strip(),
                      tags=clean_tags(tags))
    db.session.add(project)
    db.session.commit()
    return project


def update_project(project, name=None, description=None, public=None, tags=None):
    """Change a project's name, description, public flag or tags (None leaves a field as it is); all or nothing."""
    changes = {"name": None if name is None else clean_name(name),
               "description": None if description is None else str(description).strip(),
               "public": None if public is None else clean_bool(public, "public"),
               "tags": None if tags is None else clean_tags(tags)}  # every value checked before any is set
    for field, value in changes.items():
        if value is not None:
            setattr(project, field, value)
    db.session.commit()
    return project


def delete_project_for(user, project):
    """The owner (or an administrator) deletes the project, its tasks and files; anyone else drops their share.

    Access through a group is the group's: a member cannot drop it (the project would stay), so they are told
    who can, and nothing changes."""
    if project.owner_id != user.id and not user.is_admin:
        groups = groups_sharing(user, project)
        if groups:
            raise ValidationError(
                f"You see this project through your group {', '.join(groups)}: an administrator can take you out "
                f"of the group, or {project.owner.username} can stop sharing the project with it.")
        share = ProjectShare.query.filter_by(project_id=project.id, user_id=user.id).first()
        if share is None:
            raise NotFound()
        db.session.delete(share)
        db.session.commit()
        return False
    copies, folder = node_copies(project.tasks), storage.project_dir(project.id)
    db.session.delete(project)
    db.session.commit()
    storage.remove_tree(folder)
    queue_node_removals(copies)
    return True


PROJECT_ORDERING = {"id": Project.id, "name": Project.name, "description": Project.description,
                    "created_at": Project.created_at, "public": Project.public, "owner": Project.owner_id}


def list_projects(user, name=None, search=None, ordering=None):
    """The projects user may view, filtered by exact name or a search, ordered.

    The search is WebODM's dashboard search: each `#tag` must be one of the project's tags, the other words (as
    one piece of text) must be in its name or description."""
    query = visible_projects(user)
    if name:
        query = query.filter(Project.name == name)
    tags, text = split_search(search)
    for tag in tags:
        query = query.filter((" " + Project.tags + " ").ilike(f"% {_like_literal(tag)} %", escape="\\"))
    if text:
        pattern = f"%{_like_literal(text)}%"
        query = query.filter(or_(Project.name.ilike(pattern, escape="\\"),
                                 Project.description.ilike(pattern, escape="\\")))
    return apply_ordering(query, ordering, PROJECT_ORDERING, "-created_at")


def _like_literal(text):
    """text with LIKE's wildcards escaped, so that "_" or "%" in a search match themselves."""
    return text.replace("\\", "\\\\").replace("%", "\\%").replace("_", "\\_")
