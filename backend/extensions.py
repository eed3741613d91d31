"""Extension objects, created unbound and initialised in create_app."""

from __future__ import annotations

import http
from typing import Any

from flask import Response
from flask_jwt_extended import JWTManager
from flask_migrate import Migrate
from flask_smorest import Api, Blueprint, abort
from flask_smorest.spec import prepare_response
from flask_sqlalchemy import SQLAlchemy
from marshmallow import RAISE, Schema, missing
from webargs.flaskparser import FlaskParser

from backend.database import Base
from backend.errors import ProblemSchema, handle_http_exception
from backend.fields import UTCDateTime


class TrustlineApi(Api):
    """flask-smorest's Api, with errors documented and rendered as problem+json."""

    ERROR_CONTENT_TYPE = "application/problem+json"

    def _register_responses(self) -> None:
        for status in http.HTTPStatus:
            response: dict[str, Any] = {"description": status.phrase}
            if status >= 400:
                response["schema"] = ProblemSchema
            prepare_response(response, self.spec, self.ERROR_CONTENT_TYPE)
            self.spec.components.response(status.name, response, lazy=True)
        response = {"description": "Error", "schema": ProblemSchema}
        prepare_response(response, self.spec, self.ERROR_CONTENT_TYPE)
        self.spec.components.response("DEFAULT_ERROR", response, lazy=True)

    def _register_error_handlers(self) -> None:
        # Error handlers are Trustline's own (backend.errors), registered by create_app.
        pass

    def handle_http_exception(self, error: Exception) -> Response:
        return handle_http_exception(error)  # type: ignore[arg-type]


class BodyRequiredParser(FlaskParser):
    """webargs' parser, refusing a request without the JSON body its operation requires.

    webargs treats a missing body as `{}`, so a PATCH with no body would "succeed" doing
    nothing; the spec says the body is required, so say so instead. Schemas marked
    `BODY_OPTIONAL` (leaving, withdrawing, pausing: stepping back must take nothing more than
    a tap) accept no body at all, and their operations document the body as optional.

    Unknown query parameters are refused too (422 naming them), like unknown body fields.

    Each arguments schema is made once: flask-smorest hands webargs the schema class, and
    webargs would make an instance of it on every request (marshmallow copies every declared
    field to do so, 30 µs and more). A schema keeps no state of a load, so one instance serves
    every request, as flask-smorest's response schemas already do.
    """

    DEFAULT_UNKNOWN_BY_LOCATION = {**FlaskParser.DEFAULT_UNKNOWN_BY_LOCATION, "query": RAISE}

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._schemas: dict[type, Schema] = {}

    def _get_schema(self, argmap: Any, req: Any) -> Schema:
        if isinstance(argmap, type) and issubclass(argmap, Schema):
            schema = self._schemas.get(argmap)
            if schema is None:
                schema = self._schemas.setdefault(argmap, argmap())
            return schema
        return super()._get_schema(argmap, req)

    def load_json(self, req: Any, schema: Any) -> Any:
        data = super().load_json(req, schema)
        if data is missing and getattr(schema, "BODY_OPTIONAL", False):
            return {}
        if data is missing:
            abort(
                400,
                message="Send a JSON object as the request body (Content-Type: application/json).",
                errors={"body": ["Missing request body."]},
            )
        return data


Blueprint.ARGUMENTS_PARSER = BodyRequiredParser()

db = SQLAlchemy(model_class=Base)
migrate = Migrate()
jwt = JWTManager()
api = TrustlineApi()
api.register_field(UTCDateTime, "string", "date-time")
