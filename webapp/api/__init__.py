"""The JSON REST API of docs/API.md, under /api: one blueprint (api/blueprint.py) that the modules here add routes to."""


def register_api(app):
    """Register the API blueprint with all its routes (and its error handlers, see api/blueprint.py)."""
    from webapp.api import auth, nodes, openapi, presets, projects, tasks, tokens  # noqa: F401  (registers the routes)
    from webapp.api import groups  # noqa: F401  (groups of users, and their administration)
    from webapp.api import webhooks  # noqa: F401  (node callbacks of the processing pipeline)
    from webapp.api import tiles  # noqa: F401  (map tiles, TileJSON and thumbnails)
    from webapp.api import maptools  # noqa: F401  (volumes, exports and their background jobs)
    from webapp.api import view3d  # noqa: F401  (the 3D page's point cloud, model and cameras)
    from webapp.api import differences  # noqa: F401  (the DSM difference of two tasks: tiles and volumes)
    from webapp.api.blueprint import bp

    app.register_blueprint(bp)
