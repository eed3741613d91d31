"""The console's pages: thin views that call the services and render the API's counselor views.

Each view finds the caller (auth.counselor_required), the couple through the counselor access
module (404 unless linked), calls one service function, and renders a schema's dump. Errors
of the services are shown where they belong: a field's message beside the field.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

import marshmallow as ma
import sqlalchemy as sa
from flask import (
    Blueprint,
    Flask,
    flash,
    g,
    redirect,
    render_template,
    request,
    url_for,
)
from flask_wtf.csrf import CSRFError, CSRFProtect
from werkzeug.exceptions import HTTPException
from werkzeug.wrappers import Response

from backend.accounts.schemas import LoginSchema
from backend.checkins import service as checkins
from backend.checkins.schemas import PromptSchema, PromptSetSchema, TrendsSchema
from backend.console import auth, present
from backend.conversations import service as conversations
from backend.conversations.schemas import TemplateSchema
from backend.counseling import service as counseling
from backend.counseling.schemas import (
    CoupleCardSchema,
    CoupleDetailArgsSchema,
    CoupleDetailSchema,
    ExerciseCreateSchema,
    ExerciseSchema,
    LinkCodeSchema,
    LinkSchema,
)
from backend.errors import DomainError, Invalid, NotFound, RateLimited, handle_unexpected
from backend.fields import text_problem
from backend.measures import service as measures
from backend.measures.schemas import MeasureSchema, SharedScoresSchema
from backend.notifications import service as notifications
from backend.notifications.schemas import NotificationSchema

if TYPE_CHECKING:
    from backend.accounts.service import User

blp = Blueprint(
    "console",
    __name__,
    url_prefix=auth.PATH,
    template_folder="templates",
    static_folder="static",
)
csrf = CSRFProtect()

# Every console response: nothing from elsewhere, no inline script or style, never framed.
SECURITY_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'self'; script-src 'self'; style-src 'self'; img-src 'self' data:; "
        "font-src 'self'; connect-src 'self'; object-src 'none'; base-uri 'none'; "
        "form-action 'self'; frame-ancestors 'none'"
    ),
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-store",
    "X-Content-Type-Options": "nosniff",
    "X-Frame-Options": "DENY",
    "Cross-Origin-Opener-Policy": "same-origin",
}
EXERCISE_KINDS = {
    "checkin": "Check-in",
    "conversation": "Guided conversation",
    "reflection": "Written task",
}
SCOPE_TEXT = {
    "progress": {
        "title": "Progress",
        "shows": "how things go: check-ins completed and missed, agreements and their "
        "status, exercises, and the couple's timeline.",
        "never": "any answer or rating, conversation entries, and anything a partner marked "
        "private, their drafts, journal or safety check.",
    },
    "shared_content": {
        "title": "Progress and shared content",
        "shows": "progress and the timeline, plus answers and ratings both partners shared "
        "once a check-in is revealed, and shared conversation entries.",
        "never": "anything a partner marked private, their drafts, journal or safety check, "
        "and no answer before both partners have answered.",
    },
}


@blp.record_once
def _install(state: Any) -> None:
    """Install what the console needs on the app: its cookie session and CSRF protection."""
    app: Flask = state.app
    app.session_interface = auth.ConsoleSessionInterface()
    # CSRF is checked by the console's own before_request (below), not on every route: the
    # API takes bearer tokens, never cookies, so it has nothing to forge.
    app.config.setdefault("WTF_CSRF_CHECK_DEFAULT", False)
    # The token lives as long as the console login (30 idle minutes at most).
    app.config.setdefault("WTF_CSRF_TIME_LIMIT", None)
    # Flask-WTF's HTTPS check wants a Referer, which Referrer-Policy: no-referrer withholds;
    # the token and the SameSite cookie are the protection (docs/architecture.md).
    app.config.setdefault("WTF_CSRF_SSL_STRICT", False)
    csrf.init_app(app)
    app.jinja_env.filters["local_time"] = present.local_time
    app.jinja_env.filters["local_day"] = present.local_day
    app.jinja_env.filters["answer_text"] = present.answer_text
    app.after_request(_secure)


@blp.before_request
def _check_csrf() -> None:
    """Every form the console accepts carries its CSRF token."""
    # `g` lives as long as the app context, which may hold several requests (a test or a
    # command that pushed one first): what the console keeps there is this request's alone.
    for name in ("csrf_token", "console_user", "console_device_token"):
        g.pop(name, None)
    csrf.protect()


def _secure(response: Response) -> Response:
    """The console's security headers on every response under /console (its errors of
    routing too, which no blueprint sees); API responses are left as they are."""
    if request.path == auth.PATH or request.path.startswith(auth.PATH + "/"):
        response.headers.update(SECURITY_HEADERS)
    return response


@blp.after_request
def _remember_device(response: Response) -> Response:
    """A browser that signed in keeps its login's device token."""
    return auth.remember_device(response)


def _page(template: str, status: int = 200, **context: Any) -> tuple[str, int]:
    """Render a page with what every page shows (who is signed in)."""
    return render_template(template, me=g.get("console_user"), **context), status


# --- errors: plain pages, never problem+json ------------------------------------------------


@blp.errorhandler(NotFound)
@blp.errorhandler(404)
def _not_found(error: Exception) -> tuple[str, int]:
    """Another couple's page, an unknown address: a plain 404, whatever exists."""
    return _page("not_found.html", 404)


@blp.errorhandler(CSRFError)
def _csrf_refused(error: CSRFError) -> tuple[str, int]:
    """A form without its token (or from elsewhere): refused, nothing done."""
    return _page(
        "error.html",
        400,
        title="This form could not be accepted",
        message=(
            "It was sent without this console's security token, or the token has expired. "
            "Nothing was changed. Go back, reload the page and try again."
        ),
    )


@blp.errorhandler(DomainError)
def _domain_error(error: DomainError) -> tuple[str, int]:
    """A rule a service enforced; its message is written for people and holds no content."""
    return _page("error.html", error.status, title="That could not be done", message=error.detail)


@blp.errorhandler(HTTPException)
def _http_error(error: HTTPException) -> tuple[str, int]:
    """A request the console cannot serve."""
    status = error.code or 500
    return _page("error.html", status, title=error.name, message=error.description)


@blp.errorhandler(sa.exc.OperationalError)
@blp.errorhandler(sa.exc.InterfaceError)
@blp.errorhandler(Exception)
def _unexpected(error: Exception) -> tuple[str, int]:
    """Logged by the API's handler (type and request id only); a calm page for the person."""
    handle_unexpected(error)
    return _page(
        "error.html",
        500,
        title="Something went wrong on our side",
        message=("Nothing was changed. Please try again in a moment."),
    )


# --- signing in and out ---------------------------------------------------------------------


@blp.get("/sign-in")
def sign_in_page() -> Any:
    """The sign-in form (the couples page for a counselor already signed in)."""
    if auth.signed_in_counselor() is not None:
        return redirect(url_for("console.couples_page"))
    return _page("sign_in.html", form={}, errors={})


@blp.post("/sign-in")
def sign_in() -> Any:
    """Sign in with a Trustline counselor account."""
    form = {"email": request.form.get("email", ""), "password": request.form.get("password", "")}
    errors = _text_errors(form)
    if not errors:
        try:
            LoginSchema().load(form)
        except ma.ValidationError as invalid:
            errors = {name: list(messages) for name, messages in invalid.messages.items()}
    if errors:
        return _page("sign_in.html", 422, form={"email": form["email"]}, errors=errors)
    try:
        auth.sign_in(email=form["email"], password=form["password"])
    except auth.PartnerAccount as partner:
        return _page("sign_in.html", 403, form={}, errors={}, notice=str(partner))
    except RateLimited as limited:
        page = _page("sign_in.html", 429, form={"email": form["email"]}, problem=limited.detail)
        return (*page, {"Retry-After": str(limited.retry_after)})
    except DomainError as refused:
        return _page(
            "sign_in.html", refused.status, form={"email": form["email"]}, problem=refused.detail
        )
    return redirect(url_for("console.couples_page"), 303)


@blp.post("/sign-out")
def sign_out() -> Any:
    """End the console's login."""
    auth.sign_out()
    flash("You are signed out.")
    return redirect(url_for("console.sign_in_page"), 303)


# --- couples --------------------------------------------------------------------------------


@blp.get("/")
@auth.counselor_required
def couples_page(me: User) -> Any:
    """The counselor's couples, each with what happened since the last visit."""
    couples = []
    for active in counseling.active_links(counselor=me):
        couple, link = counseling.linked_couple(me, active.couple_id)
        detail = _detail(couple, link, None)
        completed = present.questionnaire_events(_shared_scores(couple, link))
        couples.append(
            {"card": detail, "digest": present.digest(detail, link.counselor_visited_at, completed)}
        )
    couples.sort(key=lambda c: c["card"]["progress"]["last_activity"] or "", reverse=True)
    overdue = any(c["digest"].overdue for c in couples)
    return _page(
        "couples.html",
        couples=couples,
        scope_text=SCOPE_TEXT,
        kinds=EXERCISE_KINDS,
        titles=_template_titles() if overdue else {},
    )


@blp.get("/couples/<couple_id>")
@auth.counselor_required
def couple_page(me: User, couple_id: str) -> Any:
    """One couple, within the scope they chose."""
    couple, link = counseling.linked_couple(me, couple_id)
    prompt, chart_error = _chosen_prompt()
    detail = _detail(couple, link, prompt)
    library = _prompts()
    scale = {key: p for key, p in library.items() if p["kind"] == "scale"}
    answered = present.scale_prompts_answered(detail, set(scale))
    if prompt is None and answered:
        # No question chosen: the one answered last, through the same scoped view.
        prompt = answered[0]
        trends = counseling.counselor_trends(couple=couple, link=link, prompt=prompt)
        detail["trends"] = TrendsSchema().dump(trends) if trends else None
    chart = present.ratings_chart(detail["trends"], me.timezone) if detail["trends"] else None
    shared = _shared_scores(couple, link)
    questionnaires = present.questionnaires(shared, _measure_definitions(me, shared), me.timezone)
    digest = present.digest(detail, link.counselor_visited_at, present.questionnaire_events(shared))
    alerts = _risk_alerts(me, couple.id)
    counseling.mark_visited(link=link)
    return _page(
        "couple.html",
        detail=detail,
        digest=digest,
        scope=SCOPE_TEXT[detail["link"]["scope"]],
        chart=chart,
        chart_error=chart_error,
        questionnaires=questionnaires,
        alerts=alerts,
        prompt=prompt,
        prompt_choices=[(key, scale[key]["text"]) for key in answered],
        prompts=library,
        kinds=EXERCISE_KINDS,
        titles=_template_titles(),
    )


def _detail(couple: Any, link: Any, prompt: str | None) -> dict[str, Any]:
    """The API's counselor view of the couple, as GET /counselor/couples/{id} returns it to
    the viewer (the signed-in counselor)."""
    return CoupleDetailSchema().dump(
        counseling.couple_in_scope(couple=couple, link=link, prompt=prompt)
    )


def _shared_scores(couple: Any, link: Any) -> dict[str, Any]:
    """The measures' counselor view, as GET /counselor/couples/{id}/measures returns it: only
    partners who share with this counselor are in it, and never an answer."""
    return SharedScoresSchema().dump(measures.shared_scores(couple=couple, link=link))


def _measure_definitions(me: User, shared: dict[str, Any]) -> dict[str, dict[str, Any]]:
    """The questionnaires the counselor may open (GET /measures), by key: their score ranges."""
    if not any(p["measures"] for p in shared["partners"]):
        return {}
    listed = [m.current() for m in measures.list_measures(user=me)]
    return {m["key"]: m for m in MeasureSchema(many=True).dump(listed)}


# Unread notifications looked through for a couple's urgent alerts: the newest first, as
# GET /me/notifications?unread=true would list them.
ALERTS_LOOKED_AT = 100


def _risk_alerts(me: User, couple_id: str) -> list[dict[str, Any]]:
    """The counselor's own unread urgent alerts about this couple: a risk answer a partner
    asked to be told about, naming the questionnaire, never the answer."""
    page = notifications.feed(user_id=me.id, limit=ALERTS_LOOKED_AT, cursor=None, unread=True)
    return [
        n
        for n in NotificationSchema(many=True).dump(page.items)
        if n["kind"] == measures.RISK_ALERT and n["couple_id"] == couple_id
    ]


def _chosen_prompt() -> tuple[str | None, str | None]:
    """`?prompt=` as the API's query schema reads it (an unreadable one is set aside)."""
    if "prompt" not in request.args:
        return None, None
    try:
        args = CoupleDetailArgsSchema().load({"prompt": request.args.get("prompt", "")})
    except ma.ValidationError:
        return None, "Choose one of the rating questions listed."
    if text_problem(args["prompt"]):
        return None, "Choose one of the rating questions listed."
    return args["prompt"], None


def _prompts() -> dict[str, dict[str, Any]]:
    """The library's prompts by key, as GET /prompts shows them."""
    return {p["key"]: p for p in PromptSchema(many=True).dump(checkins.list_prompts())}


def _template_titles() -> dict[str, str]:
    """Titles of prompt sets and conversation templates, for naming an exercise."""
    titles = {prompt_set.key: prompt_set.title for prompt_set in _prompt_sets()}
    for key, template in conversations.templates().items():
        titles[key] = template["title"]
    return titles


def _prompt_sets() -> list[Any]:
    return checkins.list_prompt_sets()


@blp.post("/couples/<couple_id>/alerts/read")
@auth.counselor_required
def mark_alerts_read(me: User, couple_id: str) -> Any:
    """Mark this couple's urgent alerts read, as POST /me/notifications/read does."""
    couple, _link = counseling.linked_couple(me, couple_id)
    # Only the caller's own unread alerts about this couple: ids from the form choose among them.
    chosen = set(request.form.getlist("alert"))
    ids = [a["id"] for a in _risk_alerts(me, couple.id) if a["id"] in chosen]
    if ids:
        notifications.mark_read(user_id=me.id, ids=ids, everything=False)
        flash("Marked as read.")
    return redirect(url_for("console.couple_page", couple_id=couple.id), 303)


# --- exercises ------------------------------------------------------------------------------


@blp.get("/couples/<couple_id>/exercises/new")
@auth.counselor_required
def new_exercise_page(me: User, couple_id: str) -> Any:
    """The three ways to assign an exercise."""
    couple, link = counseling.linked_couple(me, couple_id)
    return _exercise_form(me, couple, link, kind=None, form={}, errors={})


@blp.post("/couples/<couple_id>/exercises")
@auth.counselor_required
def assign_exercise(me: User, couple_id: str) -> Any:
    """Assign an exercise through the counseling service, as the API's POST does."""
    couple, link = counseling.linked_couple(me, couple_id)
    kind = request.form.get("kind", "")
    form = {
        "kind": kind,
        "template": request.form.get("template") or None,
        "instructions": request.form.get("instructions", ""),
        "prompts": [line for line in request.form.get("prompts", "").splitlines() if line.strip()],
        "due_on": request.form.get("due_on") or None,
    }
    shown = {**form, "prompts": request.form.get("prompts", "")}
    if kind not in EXERCISE_KINDS:
        kind = None
    errors = _text_errors(form)
    if not errors:
        try:
            data = ExerciseCreateSchema().load(form)
            exercise = counseling.assign_exercise(couple=couple, counselor=me, **data)
        except ma.ValidationError as invalid:
            errors = _field_errors(invalid.messages)
        except Invalid as invalid:
            errors = dict(invalid.errors or {"kind": [invalid.detail]})
    if errors:
        return _exercise_form(me, couple, link, kind=kind, form=shown, errors=errors, status=422)
    view = ExerciseSchema().dump(exercise)
    flash(f"{EXERCISE_KINDS[view['kind']]} assigned.")
    return redirect(url_for("console.couple_page", couple_id=couple.id, _anchor="exercises"), 303)


def _exercise_form(
    me: User,
    couple: Any,
    link: Any,
    *,
    kind: str | None,
    form: dict,
    errors: dict,
    status: int = 200,
) -> Any:
    card = CoupleCardSchema().dump(counseling.linked_couple_card(couple, link))
    return _page(
        "assign.html",
        status,
        card=card,
        kind=kind,
        form=form,
        errors=errors,
        prompt_sets=PromptSetSchema(many=True).dump(_prompt_sets()),
        templates=TemplateSchema(many=True).dump(conversations.templates().values()),
        today=present.today_in(couple.timezone).isoformat(),
    )


def _field_errors(messages: Any) -> dict[str, list[str]]:
    """marshmallow's messages by top-level field (a list field's items folded into it)."""
    errors: dict[str, list[str]] = {}
    for name, value in (messages or {}).items():
        items = value.values() if isinstance(value, dict) else [value]
        flat = [m for item in items for m in (item if isinstance(item, list) else [item])]
        errors[name] = [str(m) for m in flat]
    return errors


def _text_errors(form: dict[str, Any]) -> dict[str, list[str]]:
    """Text that can't be stored (NUL, lone surrogates), named by field as the API does."""
    errors: dict[str, list[str]] = {}
    for name, value in form.items():
        for text in value if isinstance(value, list) else [value]:
            problem = isinstance(text, str) and text_problem(text)
            if problem:
                errors.setdefault(name, []).append(problem)
    return errors


# --- ending a link --------------------------------------------------------------------------


@blp.get("/couples/<couple_id>/end")
@auth.counselor_required
def end_link_page(me: User, couple_id: str) -> Any:
    """Ask before ending: it cannot be undone from here."""
    couple, link = counseling.linked_couple(me, couple_id)
    card = CoupleCardSchema().dump(counseling.linked_couple_card(couple, link))
    return _page("end_link.html", card=card)


@blp.post("/couples/<couple_id>/end")
@auth.counselor_required
def end_link(me: User, couple_id: str) -> Any:
    """End the link through the counseling service; both partners are told."""
    _couple, link = counseling.linked_couple(me, couple_id)
    counseling.end_link(link=link, user=me)
    flash("The link has ended. You no longer see anything of this couple.")
    return redirect(url_for("console.couples_page"), 303)


# --- link codes -----------------------------------------------------------------------------


@blp.get("/links")
@auth.counselor_required
def links_page(me: User) -> Any:
    """Make a link code; links waiting for the second partner."""
    return _links(me, code=None)


@blp.post("/links")
@auth.counselor_required
def create_link_code(me: User) -> Any:
    """A new single-use code, shown once."""
    code, expires_at = counseling.create_link_code(counselor=me)
    return _links(me, code=LinkCodeSchema().dump({"code": code, "expires_at": expires_at}))


def _links(me: User, *, code: dict | None) -> Any:
    pending = LinkSchema(many=True).dump(counseling.pending_links(counselor=me))
    return _page("links.html", code=code, pending=pending, scope_text=SCOPE_TEXT)


@blp.route("/<path:anything>", methods=["GET", "POST"])
def unknown(anything: str) -> Any:
    """Any other address under /console: the console's own 404 page."""
    raise NotFound("There is nothing at this address.")
