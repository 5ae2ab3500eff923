"""The tests' rows, stored directly (as the pipeline or a refresh would leave them): users, groups, projects,
tasks, nodes.

Users get a one-round password hash instead of scrypt (0.2 s per hash and per login): the accounts tests cover
the real hashing; elsewhere only who may do what matters.
"""
import shutil

from werkzeug.security import generate_password_hash

from webapp import storage
from webapp.extensions import db
from webapp.models import Group, ProcessingNode, Project, ProjectGroupShare, ProjectShare, Task, TaskStatus, User
from webapp.models.base import utcnow

FAST_HASH = "pbkdf2:sha256:1"
FAKE_JPEG = b"\xff\xd8 not really a jpeg " * 500  # enough for a fake node, which does not read the images


def _stored(row):
    """Add row to the database, commit, and return it."""
    db.session.add(row)
    db.session.commit()
    return row


def add_user(name, admin=False, password=None):
    """A user named name, with the given password or '<name>-password'."""
    password_hash = generate_password_hash(password or f"{name}-password", method=FAST_HASH)
    return _stored(User(username=name, is_admin=admin, password_hash=password_hash))


def add_project(owner="owner", name="Survey", **fields):
    """A project of owner (a User, or the name of a new user)."""
    if isinstance(owner, str):
        owner = add_user(owner)
    return _stored(Project(owner_id=owner.id, name=name, **fields))


def share(project, user, **flags):
    """Share project with user: viewing (unless can_view=False), plus the given flags (can_add, can_change, ...)."""
    return _stored(ProjectShare(project_id=project.id, user_id=user.id, **{"can_view": True, **flags}))


def add_group(name, members=()):
    """A group called name with these users in it."""
    return _stored(Group(name=name, members=list(members)))


def share_with_group(project, group, **flags):
    """Share project with group: viewing (unless can_view=False), plus the given flags (can_add, can_change, ...)."""
    return _stored(ProjectGroupShare(project_id=project.id, group_id=group.id, **{"can_view": True, **flags}))


def add_task(project, images=(), fake_images=0, **fields):
    """A task of project (named 'Survey' unless given), with copies of the image files and fake_images fake JPEGs."""
    fields.setdefault("name", "Survey")
    if images or fake_images:
        fields.setdefault("images_count", len(images) + fake_images)
    task = _stored(Task(project_id=project.id, **fields))
    if images or fake_images:
        folder = storage.images_dir(project.id, task.id)
        folder.mkdir(parents=True)
        for image in images:
            shutil.copyfile(image, folder / image.name)
        for number in range(fake_images):
            (folder / f"IMG_{number}.JPG").write_bytes(FAKE_JPEG)
    return task


def queued_task(project, node=None, **fields):
    """A queued task sent to node (None: the automatic choice), as the API creates it (the caller queues its tick)."""
    fields = {"status": TaskStatus.QUEUED, "processing_node_id": node.id if node else None,
              "auto_processing_node": node is None, **fields}
    return add_task(project, **fields)


def add_node(hostname="node.example", port=3000, online=False, **fields):
    """A processing node row (online: refreshed just now), not asked for its /info."""
    if online:
        fields.setdefault("last_refreshed", utcnow())
    return _stored(ProcessingNode(hostname=hostname, port=port, **fields))
