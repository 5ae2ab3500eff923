"""The JSON REST API of docs/API.md, under /api."""
from webapp.api import auth, nodes, openapi, projects, tasks, tokens  # noqa: F401  (registers the routes)
from webapp.api import webhooks  # noqa: F401  (node callbacks of the processing pipeline)
from webapp.api import tiles  # noqa: F401  (map tiles, TileJSON and thumbnails)
from webapp.api.blueprint import bp  # noqa: F401  (the blueprint, with every route above)
