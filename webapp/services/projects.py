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
    name = str(name or "").strip()
    if not name:
        raise ValidationError(field_errors={"name": ["This field is required."]})
    if len(name) > 255:
        raise ValidationError(field_errors={"name": ["Use at most 255 characters."]})
    return name


def create_project(owner, name, description=""):
    """Create a project owned by owner."""
    project = Project(owner_id=owner.id, name=_clean_name(name), description=str(description or "").strip())
    db.session.add(project)
    db.session.commit()
    return project


def _clean_bool(value, field):
    """A boolean from JSON or a form ("true", "false", "1", "0", "on", "off"), or ValidationError."""
    if isinstance(value, bool):
        return value
    text = str(value).strip().lower()
    if text in ("true", "1", "on", "yes"):
        return True
    if text in ("false", "0", "off", "no", ""):
        return False
    raise ValidationError(field_errors={field: ["Must be a valid boolean."]})


def update_project(project, name=None, description=None, public=None):
    """Change a project's name, description or public flag (None leaves a field as it is)."""
    if name is not None:
        project.name = _clean_name(name)
    if description is not None:
        project.description = str(description).strip()
    if public is not None:
        project.public = _clean_bool(public, "public")
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
    from webapp.services import tasks  # tasks import this module for permissions
    tasks.delete_project_tasks_and_project(project)
    return True


def apply_ordering(query, ordering, columns, default):
    """query ordered by `?ordering=` ("field", "-field", comma-separated) over columns {name: column}.

    default is used when ordering is empty; the primary key always breaks ties, so pages are stable.
    """
    order_by = []
    for field in [f.strip() for f in (ordering or default).split(",") if f.strip()]:
        descending = field.startswith("-")
        column = columns.get(field.lstrip("-"))
        if column is None:
            raise ValidationError(field_errors={"ordering": [
                f"Cannot order by {field.lstrip('-')!r}: use one of {', '.join(sorted(columns))}."]})
        order_by.append(column.desc() if descending else column.asc())
    order_by.append(columns["id"].asc())
    return query.order_by(*order_by)


PROJECT_ORDERING = {"id": Project.id, "name": Project.name, "description": Project.description,
                    "created_at": Project.created_at, "public": Project.public, "owner": Project.owner_id}


def list_projects(user, name=None, search=None, ordering=None):
    """The projects user may view, filtered by exact name or a search in name and description, ordered."""
    query = visible_projects(user)
    if name:
        query = query.filter(Project.name == name)
    if search:
        pattern = f"%{search}%"
        query = query.filter(or_(Project.name.ilike(pattern), Project.description.ilike(pattern)))
    return apply_ordering(query, ordering, PROJECT_ORDERING, "-created_at")
