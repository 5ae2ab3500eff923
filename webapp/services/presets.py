"""Presets: saved sets of task options. A few system presets are offered to everyone; users save their own."""

from sqlalchemy import or_

from webapp.extensions import db
from webapp.models import Preset
from webapp.services.errors import Forbidden, NotFound, ValidationError
from webapp.services.parsing import parse_options

# The built-in presets, by name. Option names are the NodeODM ones; a node drops the names it does not know.
SYSTEM_PRESETS = {
    "Default": [],
    "Fast Orthophoto": [{"name": "fast-orthophoto", "value": True}],
    "High Resolution": [{"name": "orthophoto-resolution", "value": 2}, {"name": "min-num-features", "value": 16000},
                        {"name": "resize-to", "value": -1}],
    "DSM + DTM": [{"name": "dsm", "value": True}, {"name": "dtm", "value": True},
                  {"name": "dem-resolution", "value": 50}],
}
MAX_NAME = 255


def ensure_system_presets():
    """Create the system presets that are missing and drop retired ones (idempotent; run on first use)."""
    existing = {name for (name,) in db.session.query(Preset.name).filter(Preset.system.is_(True))}
    missing = [name for name in SYSTEM_PRESETS if name not in existing]
    for name in missing:
        db.session.add(Preset(name=name, options=SYSTEM_PRESETS[name], system=True, owner_id=None))
    retired = existing - set(SYSTEM_PRESETS)
    if retired:
        Preset.query.filter(Preset.system.is_(True), Preset.name.in_(retired)).delete()
    if missing or retired:
        db.session.commit()


def presets_for(user):
    """The presets user may choose: the system ones first (each name once), then their own by name."""
    ensure_system_presets()
    rows = Preset.query.filter(or_(Preset.system.is_(True), Preset.owner_id == user.id)).order_by(
        Preset.system.desc(), Preset.name, Preset.id).all()
    seen_system, result = set(), []
    for preset in rows:
        if preset.system:
            if preset.name in seen_system:  # two processes seeding at once may leave a duplicate: show it once
                continue
            seen_system.add(preset.name)
        result.append(preset)
    system_order = list(SYSTEM_PRESETS)
    result.sort(key=lambda p: (not p.system, system_order.index(p.name) if p.name in system_order else 0,
                               p.name.lower()))
    return result


def get_preset_for(user, preset_id):
    """A preset user may use (a system one or their own), else NotFound."""
    preset = db.session.get(Preset, preset_id)
    if preset is None or not (preset.system or preset.owner_id == user.id):
        raise NotFound()
    return preset


def clean_options(raw):
    """Options read as parsing.parse_options reads a task's, with names trimmed and only plain values (a preset is
    shown in a form, so it holds nothing a form field could not show); ValidationError otherwise."""
    cleaned = []
    for entry in parse_options(raw):
        if not entry["name"].strip() or isinstance(entry["value"], (dict, list)):
            raise ValidationError(field_errors={"options": ["Each option needs a name and a plain value."]})
        cleaned.append({"name": entry["name"].strip(), "value": entry["value"]})
    return cleaned


def clean_preset_name(name):
    """A preset's name, stripped, or ValidationError when empty or too long."""
    name = str(name or "").strip()
    if not name:
        raise ValidationError(field_errors={"name": ["Give the preset a name."]})
    if len(name) > MAX_NAME:
        raise ValidationError(field_errors={"name": [f"Use at most {MAX_NAME} characters."]})
    return name


def save_preset(user, name, options):
    """Save user's options under a name; a preset of theirs with that name is replaced."""
    name = clean_preset_name(name)
    options = clean_options(options)
    preset = Preset.query.filter_by(owner_id=user.id, name=name, system=False).first()
    if preset is None:
        preset = Preset(owner_id=user.id, name=name, system=False)
        db.session.add(preset)
    preset.options = options
    db.session.commit()
    return preset


def delete_preset(user, preset_id):
    """Delete one of user's own presets (system presets and other users' are NotFound)."""
    preset = db.session.get(Preset, preset_id)
    if preset is None or preset.system or preset.owner_id != user.id:
        raise NotFound()
    db.session.delete(preset)
    db.session.commit()


# The API's presets (WebODM's /api/presets/): a new one each time, changed by id.

def create_preset(user, name, options=None):
    """A new preset of user's (two may share a name, as in WebODM)."""
    preset = Preset(owner_id=user.id, name=clean_preset_name(name), options=clean_options(options or []),
                    system=False)
    db.session.add(preset)
    db.session.commit()
    return preset


def editable_preset(user, preset_id):
    """One of user's own presets to change or delete: Forbidden for a system preset (everyone sees those, nobody
    changes them), NotFound for another user's."""
    preset = get_preset_for(user, preset_id)
    if preset.system:
        raise Forbidden("System presets cannot be changed or deleted.")
    return preset


def update_preset(preset, name=None, options=None):
    """Change a preset's name or options (None leaves one as it is); both are checked before either changes."""
    new_name = preset.name if name is None else clean_preset_name(name)
    new_options = preset.options if options is None else clean_options(options)
    preset.name, preset.options = new_name, new_options
    db.session.commit()
    return preset
