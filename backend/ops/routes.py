"""Operations: liveness, readiness and the API docs page (assets from an installed package)."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from flask import Blueprint as FlaskBlueprint
from flask import Response, send_from_directory
from flask.views import MethodView
from flask_smorest import Blueprint
from swagger_ui_bundle import swagger_ui_path

from backend.errors import problem
from backend.extensions import db
from backend.ops.schemas import HealthSchema, ReadinessSchema
from backend.ratelimit import limiter

blp = Blueprint("ops", __name__, description="Health checks.")
docs_blp = FlaskBlueprint("docs", __name__)
PUBLIC: dict[str, Any] = {"security": []}


@blp.route("/healthz")
class Health(MethodView):
    @blp.doc(**PUBLIC)
    @blp.response(200, HealthSchema)
    @blp.doc(operationId="get_health")
    def get(self) -> dict:
        """The process is up."""
        return {"status": "ok"}


@blp.route("/readyz")
class Ready(MethodView):
    @blp.doc(**PUBLIC)
    @blp.response(200, ReadinessSchema)
    @blp.alt_response(503, description="The database cannot be reached.")
    @blp.doc(operationId="get_readiness")
    def get(self) -> Any:
        """The database answers, so a load balancer may send traffic.

        The rate-limit store is reported too, but does not decide: without it only signing
        in, registering and pairing answer 503, while everything else still works.
        """
        try:
            db.session.execute(sa.text("SELECT 1"))
        except sa.exc.SQLAlchemyError:
            db.session.rollback()
            return problem(503, "The database cannot be reached.", slug="not-ready")
        store = "ok" if limiter().reachable() else "unreachable"
        return {"status": "ok", "database": "ok", "ratelimit_store": store}


DOCS_PAGE = """<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <title>Trustline API</title>
  <link rel="stylesheet" href="/api/docs/assets/swagger-ui.css">
</head>
<body>
  <div id="swagger-ui"></div>
  <script src="/api/docs/assets/swagger-ui-bundle.js"></script>
  <script src="/api/docs/assets/swagger-ui-standalone-preset.js"></script>
  <script src="/api/docs/assets/trustline-docs.js"></script>
</body>
</html>
"""

DOCS_SCRIPT = """window.onload = function () {
  window.ui = SwaggerUIBundle({
    url: "/api/v1/openapi.json",
    dom_id: "#swagger-ui",
    presets: [SwaggerUIBundle.presets.apis, SwaggerUIStandalonePreset],
    layout: "BaseLayout",
    persistAuthorization: false
  });
};
"""


@docs_blp.get("/api/docs")
def docs_page() -> Response:
    """Swagger UI over the generated spec; nothing is fetched from the network."""
    response = Response(DOCS_PAGE, mimetype="text/html")
    response.headers["Content-Security-Policy"] = (
        "default-src 'self'; img-src 'self' data:; style-src 'self' 'unsafe-inline'"
    )
    return response


@docs_blp.get("/api/docs/assets/trustline-docs.js")
def docs_script() -> Response:
    """The page's start-up script (a file, so the page needs no inline script)."""
    return Response(DOCS_SCRIPT, mimetype="text/javascript")


@docs_blp.get("/api/docs/assets/<path:filename>")
def docs_asset(filename: str) -> Response:
    """Swagger UI's files, from the installed swagger-ui-bundle package."""
    return send_from_directory(str(swagger_ui_path), filename)
