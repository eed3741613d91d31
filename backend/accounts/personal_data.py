"""What accounts hold about a person: their part of the export and of erasure.

The account itself, its sign-ins and its activity; in erasure, the password that confirms it
first, and the account's own fields last (every other step reads them before).
"""

from __future__ import annotations

import secrets
from typing import Any

import sqlalchemy as sa

from backend.accounts import activity
from backend.accounts import service as accounts
from backend.accounts.models import AuthSession, RefreshToken
from backend.accounts.passwords import hash_password
from backend.accounts.schemas import ActivitySchema
from backend.extensions import db
from backend.privacy import service as privacy
from backend.privacy.service import Step
from backend.viewer import viewing


@privacy.on_export("account")
def export_account(request: privacy.Export) -> dict[str, Any]:
    """The account's own fields."""
    user = request.user
    return {
        "id": user.id,
        "email": user.email,
        "display_name": user.display_name,
        # Kept only for erasure to find them; they are the caller's data all the same.
        "former_display_names": user.former_display_names or [],
        "role": user.role,
        "timezone": user.timezone,
        "discreet_notifications": user.discreet_notifications,
        "created_at": user.created_at,
        "password_changed_at": user.password_changed_at,
    }


@privacy.on_export("sessions")
def export_sessions(request: privacy.Export) -> list[dict[str, Any]]:
    """Every sign-in, live or ended."""
    return [
        {
            "id": s.id,
            "description": s.client_description,
            "created_at": s.created_at,
            "last_used_at": s.last_used_at,
            "expires_at": s.expires_at,
            "revoked_at": s.revoked_at,
        }
        for s in db.session.scalars(
            sa.select(AuthSession).where(AuthSession.user_id == request.user.id)
        )
    ]


@privacy.on_export("activity")
def export_activity(request: privacy.Export) -> list[dict[str, Any]]:
    """The account's activity, this download included (it is recorded first)."""
    activity.record(
        user_id=request.user.id, kind="export_downloaded", session_id=request.session_id
    )
    with viewing(request.user):
        return ActivitySchema(many=True).dump(activity.everything_of(user_id=request.user.id))


@privacy.on_erase(Step.CONFIRM)
def confirm_with_password(erasure: privacy.Erasure) -> None:
    """Only the person's password erases the account."""
    # Wrong passwords count against this login only: someone holding the owner's phone can't
    # use up the allowance that her other device needs to erase the account.
    accounts.check_own_password(
        user=erasure.user,
        password=erasure.password,
        client_address=erasure.client_address,
        field="password",
        session_id=erasure.session_id,
    )


@privacy.on_erase(Step.FIND_COUPLES)
def find_names(erasure: privacy.Erasure) -> None:
    """Their name now, and each one they had before a rename."""
    user = erasure.user
    erasure.names |= {user.display_name, *(user.former_display_names or [])}


@privacy.on_erase(Step.REMOVE)
def remove_activity_and_sessions(erasure: privacy.Erasure) -> None:
    """The account's activity and every sign-in go."""
    activity.erase_all(user_id=erasure.user.id)
    sessions = sa.select(AuthSession.id).where(AuthSession.user_id == erasure.user.id)
    db.session.execute(sa.delete(RefreshToken).where(RefreshToken.session_id.in_(sessions)))
    db.session.execute(sa.delete(AuthSession).where(AuthSession.user_id == erasure.user.id))


@privacy.on_erase(Step.FORGET)
def forget_the_account(erasure: privacy.Erasure) -> None:
    """The account stays as a neutral label: no e-mail, no name, no usable password."""
    user = erasure.user
    user.email = f"erased-{secrets.token_hex(8)}@erased.invalid"
    user.display_name = erasure.former
    user.former_display_names = None
    user.password_hash = hash_password(secrets.token_urlsafe(32))
    user.erased_at = erasure.now
