"""Projects and who may do what with them. Tasks inherit their project's permissions."""
from sqlalchemy import or_

from webapp import storage
from webapp.extensions import db
from webapp.models import PERMISSIONS, Project, ProjectShare
from webapp.services.errors import NotFound
from webapp.services.ordering import apply_ordering
from webapp.services.parsing import clean_bool, clean_name, clean_tags, split_search
from webapp.services.removals import node_copies, queue_node_removals


def project_permissions(user, project):
    """What user may do with project, as API names in the order of PERMISSIONS."""
    if user is not None and user.is_authenticated:
        if user.is_admin or project.owner_id == user.id:
            return list(PERMISSIONS)
        share = next((s for s in project.shares if s.user_id == user.id), None)
        if share is not None and share.can_view:
            return share.permissions
    return ["view"] if project.public else []


def visible_projects(user):
    """A query of the projects user may view: owned, shared with them, or all for administrators."""
    query = Project.query
    if not user.is_admin:
        shared_ids = db.session.query(ProjectShare.project_id).filter(
            ProjectShare.user_id == user.id, ProjectShare.can_view.is_(True))
        query = query.filter(or_(Project.owner_id == user.id, Project.id.in_(shared_ids)))
    return query


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
    """The owner (or an administrator) deletes the project, its tasks and files; anyone else drops their share."""
    if project.owner_id != user.id and not user.is_admin:
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
