"""Stage placeholder."""


def run(ws, options, report):
    """Nothing yet."""
    return {}
