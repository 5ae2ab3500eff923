"""Presets of task options: saving the options of the new-task page under a name, and deleting one's own."""
from flask import Blueprint, flash, jsonify, redirect, request
from flask_login import current_user, login_required

from webapp.forms.tasks import ActionForm, PresetForm
from webapp.security import safe_next
from webapp.services import presets
from webapp.services.errors import ValidationError

bp = Blueprint("presets", __name__)

@bp.route("/presets", methods=["POST"])
@login_required
def save_preset():
    """Save options as a named preset. Scripts ask for JSON (to keep the page and its chosen files); forms redirect."""
    form = PresetForm()
    wants_json = request.accept_mimetypes.best == "application/json"
    if form.validate_on_submit():
        try:
            preset = presets.save_preset(current_user, form.name.data, form.options.data)
        except ValidationError as error:
            errors = error.field_errors or {"__all__": [error.message]}
        else:
            if wants_json:
                return jsonify({"id": preset.id, "name": preset.name, "options": preset.options, "system": False})
            flash(f"Preset “{preset.name}” saved.", "success")
            return redirect(safe_next(form.next.data))
    else:
        errors = form.errors
    if wants_json:
        return jsonify(errors), 400
    flash("The preset was not saved: " + " ".join(m for ms in errors.values() for m in ms), "error")
    return redirect(safe_next(form.next.data))


@bp.route("/presets/<int:preset_id>/delete", methods=["POST"])
@login_required
def delete_preset(preset_id):
    """Delete one of the user's own presets."""
    if ActionForm().validate_on_submit():
        presets.delete_preset(current_user, preset_id)
        flash("Preset deleted.", "info")
    return redirect(safe_next(request.form.get("next")))

