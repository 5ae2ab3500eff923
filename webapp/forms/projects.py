"""Forms of projects: name and description, and sharing with other users and with groups."""
from flask_wtf import FlaskForm
from wtforms import BooleanField, SelectField, StringField, TextAreaField
from wtforms.fields.choices import SelectChoice
from wtforms.validators import DataRequired, Length

from webapp.services.errors import ValidationError

# What a user a project is shared with may do, from least to most; each level includes the ones before.
SHARE_LEVELS = {
    "view": ["view"],
    "change": ["view", "add", "change"],
    "delete": ["view", "add", "change", "delete"],
}
SHARE_LEVEL_CHOICES = [SelectChoice("view", "Can view"), SelectChoice("change", "Can view and change"),
                       SelectChoice("delete", "Can view, change and delete")]


def share_level(permissions):
    """The highest level whose permissions are all granted ("view" at least)."""
    granted = set(permissions)
    return next((level for level in ("delete", "change") if set(SHARE_LEVELS[level]) <= granted), "view")


class ProjectForm(FlaskForm):
    """A project's name, description and tags."""

    name = StringField("Name", validators=[DataRequired(), Length(max=255)])
    description = TextAreaField("Description", validators=[Length(max=10000)])
    tags = StringField("Tags", validators=[Length(max=4000)],
                       description="Words separated by spaces, such as “survey north 2026”; search them on the "
                                   "dashboard with #survey.")


class ProjectSettingsForm(ProjectForm):
    """A project's name, description, and whether anyone with the link may see its maps and results."""

    public = BooleanField("Public: anyone with the link can see the maps of its tasks and download their results")


class ShareForm(FlaskForm):
    """Share a project with a user by name, at a level."""

    username = StringField("Username", validators=[DataRequired(), Length(max=150)])
    level = SelectField("Access", choices=SHARE_LEVEL_CHOICES, default="view")


class ShareLevelForm(FlaskForm):
    """Change the level of an existing share."""

    level = SelectField("Access", choices=SHARE_LEVEL_CHOICES)


def _request_entry(entry):
    """An entry of services.sharing.project_sharing as the service takes it back: name and permissions."""
    key = "groupname" if "groupname" in entry else "username"
    return {key: entry[key], "permissions": entry["permissions"]}


def _replacing(current, key, name, permissions):
    """The sharing list current, the owner left out, with the user or group (key) called name set to permissions
    (an empty list leaves them out)."""
    entries = [_request_entry(entry) for entry in current
               if not entry.get("owner") and (entry.get(key) or "").lower() != name.lower()]
    if permissions:
        entries.append({key: name, "permissions": list(permissions)})
    return entries


def sharing_with(current, username, permissions):
    """The sharing list `current` (as services.sharing.project_sharing gives it) with username set to permissions.

    The owner's entry is left out (the service never changes it); an empty permissions list removes the user.
    """
    owner = next(entry["username"] for entry in current if entry.get("owner"))
    if owner.lower() == username.lower():
        raise ValidationError(field_errors={"username": [f"{owner} owns this project and may do everything with it."]})
    return _replacing(current, "username", username, permissions)


def sharing_with_group(current, groupname, permissions):
    """The sharing list `current` with the group called groupname set to permissions (empty: removed)."""
    return _replacing(current, "groupname", groupname, permissions)


class GroupShareForm(FlaskForm):
    """Share a project with a group chosen from all groups, at a level."""

    group = SelectField("Group", coerce=int, validators=[DataRequired()])
    level = SelectField("Access", choices=SHARE_LEVEL_CHOICES, default="view")

    def __init__(self, *args, groups=(), **kwargs):
        super().__init__(*args, **kwargs)
        self.group.choices = [(group.id, group.name) for group in groups]
