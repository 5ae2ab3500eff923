"""Putting service errors on forms."""


def add_service_errors(form, error):
    """Show a ServiceError on the form: field messages on their fields, the rest as form-level errors."""
    for field_name, messages in error.field_errors.items():
        field = getattr(form, field_name, None)
        if field is not None:
            field.errors = list(field.errors) + list(messages)
        else:
            form.form_errors.extend(messages)
    if error.message:
        form.form_errors.append(error.message)
