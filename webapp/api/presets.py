"""WebODM's presets API: the caller's presets and the system ones (read-only), list, get, create, change, delete."""
from webapp.api.blueprint import route
from webapp.api.auth import login_required
from webapp.api.helpers import caller, json_response, no_content, request_data
from webapp.api.serializers import preset_json
from webapp.services import presets


@route("/presets/", methods=["GET"])
@login_required
def list_presets():
    """The system presets, then the caller's own."""
    return json_response([preset_json(preset) for preset in presets.presets_for(caller())])


@route("/presets/", methods=["POST"])
@login_required
def create_preset():
    """A new preset of the caller's: name and options ([{name, value}], as a list or a JSON string)."""
    data = request_data()
    return json_response(preset_json(presets.create_preset(caller(), data.get("name"), data.get("options"))), 201)


@route("/presets/<int:preset_id>/", methods=["GET"])
@login_required
def get_preset(preset_id):
    """A system preset or one of the caller's."""
    return json_response(preset_json(presets.get_preset_for(caller(), preset_id)))


@route("/presets/<int:preset_id>/", methods=["PATCH", "PUT"])
@login_required
def update_preset(preset_id):
    """Change the name or options of one of the caller's presets (403 for a system preset)."""
    preset = presets.editable_preset(caller(), preset_id)
    data = request_data()
    return json_response(preset_json(presets.update_preset(preset, data.get("name"), data.get("options"))))


@route("/presets/<int:preset_id>/", methods=["DELETE"])
@login_required
def delete_preset(preset_id):
    """Delete one of the caller's presets (403 for a system preset)."""
    presets.delete_preset(caller(), presets.editable_preset(caller(), preset_id).id)
    return no_content()
