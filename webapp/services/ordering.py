"""The `?ordering=` of the lists (projects, tasks, nodes): one parser for them all."""
from webapp.services.errors import ValidationError


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
