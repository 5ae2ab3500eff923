"""The database models; importing this package registers them all with SQLAlchemy."""
from webapp.models.enums import ACTIVE_STATUSES, PERMISSIONS, PendingAction, TaskStatus
from webapp.models.group import Group, ProjectGroupShare, group_member
from webapp.models.processing_node import Preset, ProcessingNode
from webapp.models.project import Project, ProjectShare
from webapp.models.task import Task
from webapp.models.user import ApiToken, User

__all__ = ["ACTIVE_STATUSES", "PERMISSIONS", "ApiToken", "Group", "PendingAction", "Preset", "ProcessingNode",
           "Project", "ProjectGroupShare", "ProjectShare", "Task", "TaskStatus", "User", "group_member"]
