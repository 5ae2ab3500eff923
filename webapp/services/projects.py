"""Projects and who may do what with them. Tasks inherit their project's permissions."""
from sqlalchemy import or_

from webapp.extensions import db
from webapp.models import PERMISSIONS, Project, ProjectShare
from webapp.services.errors import NotFound, ValidationError


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


def _clean_name(name):
    """A project name stripped of surrounding space, or ValidationError when empty or too long."""
    name = (name or "").strip()
    if not name:
        raise ValidationError(field_errors={"name": ["This field is required."]})
    if len(name) > 255:
        raise ValidationError(field_errors={"name": ["Use at most 255 characters."]})
    return name


def create_project(owner, name, description=""):
    """Create a project owned by owner."""
    project = Project(owner_id=owner.id, name=_clean_name(name), description=(description or "").strip())
    db.session.add(project)
    db.session.commit()
    return project
