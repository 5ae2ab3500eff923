"""Forms of tasks: a new task (the plain-HTML upload, which scripts enhance), its actions, and presets."""
from flask_wtf import FlaskForm
from wtforms import FileField, HiddenField, MultipleFileField, SelectField, StringField
from wtforms.validators import AnyOf, DataRequired, Length, Optional

AUTO_NODE = "auto"


class NewTaskForm(FlaskForm):
    """Images, an optional GCP file, a name, a processing node (or automatic) and a preset of options."""

    images = MultipleFileField("Images")
    gcp = FileField("Ground control points (optional .txt file)")
    name = StringField("Task name", validators=[Optional(), Length(max=255)])
    processing_node = SelectField("Processing node", default=AUTO_NODE, validate_choice=True)
    preset = SelectField("Preset", validate_choice=True)
    options = HiddenField()  # JSON written by the options editor (scripts); empty without scripts: the preset's

    def set_choices(self, nodes, presets):
        """Fill the node and preset menus: nodes as (node, online) pairs, presets as Preset rows."""
        self.processing_node.choices = node_choices(nodes)
        self.preset.choices = [(str(preset.id), preset.name) for preset in presets]


def node_choices(nodes):
    """The node menu's (value, label) pairs: automatic, then each (node, online) pair."""
    return [(AUTO_NODE, "Automatic (the online node with the shortest queue)")] + [
        (str(node.id), _node_choice_label(node, online)) for node, online in nodes]


def _node_choice_label(node, online):
    """A node's menu entry: its label, queue and whether it is online."""
    queue = f"{node.queue_count} in queue" if online else "offline"
    return f"{node.display_label()} ({queue})"


class ActionForm(FlaskForm):
    """A button that changes a task (cancel, remove): only the CSRF token."""


class PublicTaskForm(FlaskForm):
    """Open a task to anyone with the link ("true"), or close it again ("false")."""

    public = HiddenField(validators=[AnyOf(["true", "false"])])


class RenameTaskForm(FlaskForm):
    """A task's new name."""

    name = StringField("Task name", validators=[Length(max=255)])


class MoveTaskForm(FlaskForm):
    """Move a task into another project (of those the user may change)."""

    project = SelectField("Move to", coerce=int, validate_choice=True)

    def set_projects(self, targets):
        """Offer these projects."""
        self.project.choices = [(project.id, project.name) for project in targets]


class RestartTaskForm(FlaskForm):
    """Restart, optionally from a later stage (the node's rerun-from)."""

    rerun_from = SelectField("Restart from", default="", validate_choice=True)

    def set_stages(self, stages):
        """Offer restarting from the beginning or from one of the stages."""
        self.rerun_from.choices = [("", "The beginning")] + [(stage, stage) for stage in stages]


class PresetForm(FlaskForm):
    """Save the options on the page as a named preset."""

    name = StringField("Preset name", validators=[DataRequired(), Length(max=255)])
    options = HiddenField(default="[]")
    next = HiddenField()


class ImportTaskForm(FlaskForm):
    """A finished task's results to import: a results zip (all.zip of a processing node) or its address."""

    name = StringField("Task name", validators=[Optional(), Length(max=255)])
    file = FileField("Results zip (all.zip)")
    url = StringField("Or the address of a results zip", validators=[Optional(), Length(max=2000)])
