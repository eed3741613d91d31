"""Guided conversations: starting one, writing in turn, moving on together, time-outs.

The hurt partner is heard before anything else; the partner who broke trust answers without
defending; either can call a time-out at any moment, and nothing can be written until the
cool-down has passed (or the one who paused picks it up again).
"""

from __future__ import annotations

from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa

from backend import clock
from backend.accounts import service as accounts
from backend.conversations import library
from backend.conversations.models import Conversation, ConversationEntry, ConversationReady
from backend.couples import service as couples
from backend.couples.service import require_active
from backend.database import claim, lock_rows
from backend.errors import Conflict, Invalid
from backend.extensions import db
from backend.notifications import service as notifications
from backend.pagination import Page, keyset_page
from backend.timeline import service as timeline
from backend.unit_of_work import use_case

CompletedHook = Callable[[Conversation], None]
_completed_hooks: list[CompletedHook] = []


def templates() -> dict[str, dict[str, Any]]:
    """The guided conversation templates (content/conversations.yaml), by key."""
    return library.templates()


def template(key: str) -> dict[str, Any] | None:
    """One template by its key, or None."""
    return library.template(key)


def on_conversation_completed(hook: CompletedHook) -> CompletedHook:
    """Register what follows a completed conversation (an exercise), in the same transaction."""
    _completed_hooks.append(hook)
    return hook


DEFAULT_PAUSE_MINUTES = 20  # at least 20 minutes apart, doing something calming
MAX_PAUSE_MINUTES = 24 * 60
PROMPT_AFTER = timedelta(hours=24)


def _couple(conversation: Conversation) -> couples.Couple:
    return couples.couple_by_id(conversation.couple_id)


def _name(user_id: str | None) -> str:
    return accounts.display_name(user_id, missing=couples.FORMER_PARTNER)


def roles_at(conversation: Conversation, step_index: int) -> dict[str, str]:
    """Who holds which role at a step (the two roles swap where the template says)."""
    roles = dict(conversation.roles)
    swaps = sum(1 for step in conversation.steps[:step_index] if step.get("swap_roles_after"))
    if swaps % 2:
        first, second = conversation.template["roles"]
        roles[first], roles[second] = roles[second], roles[first]
    return roles


def writers_of(conversation: Conversation, step_index: int) -> list[str]:
    """The partners who may write in a step."""
    writers = conversation.steps[step_index]["writers"]
    if writers in ("both", "either"):
        return list(_couple(conversation).member_ids())
    return [roles_at(conversation, step_index)[writers]]


def still_to_write(conversation: Conversation, step_index: int) -> list[str]:
    """The partners whose entry the step still needs before both can move on."""
    wrote = {e.author_id for e in conversation.entries if e.step_index == step_index}
    writers = writers_of(conversation, step_index)
    if conversation.steps[step_index]["writers"] == "either":
        return [] if wrote else writers
    return [uid for uid in writers if uid not in wrote]


def _assign_roles(
    template: dict[str, Any], roles: dict[str, str], members: list[str]
) -> dict[str, str]:
    """Both of the template's roles, each to a partner: the one named in `roles` and the
    other partner in the other role (422 for an unknown role or a partner twice)."""
    first, second = template["roles"]
    # Former role keys (e.g. hurt_partner in the trigger template) are still accepted.
    aliases = template.get("role_aliases") or {}
    named = len(roles)
    roles = {aliases.get(role, role): uid for role, uid in roles.items()}
    unknown = [role for role in roles if role not in (first, second)]
    if unknown or not roles or len(roles) != named:
        raise Invalid.field("roles", f"Say which partner is the {first} (or the {second}).")
    if any(uid not in members for uid in roles.values()) or len(set(roles.values())) != len(roles):
        raise Invalid.field("roles", "Each role goes to a different partner of this couple.")
    if first not in roles:
        roles = {first: next(uid for uid in members if uid != roles[second]), **roles}
    if second not in roles:
        roles = {**roles, second: next(uid for uid in members if uid != roles[first])}
    return {first: roles[first], second: roles[second]}


@use_case
def start(
    *, couple: couples.Couple, user: accounts.User, template_key: str, roles: dict[str, str]
) -> Conversation:
    """Start a conversation from a template, with its roles assigned."""
    require_active(couple)
    template = library.template(template_key)
    if template is None:
        raise Invalid.field("template", "No such template; see GET /conversation-templates.")
    conversation = Conversation(
        couple_id=couple.id,
        template_key=template_key,
        template=template,
        roles=_assign_roles(template, roles, couple.member_ids()),
        status="active",
        current_step=0,
        started_by_id=user.id,
        started_at=clock.now(),
    )
    db.session.add(conversation)
    db.session.flush()
    timeline.announce(
        couple_id=couple.id,
        kind="conversation_started",
        actor_id=user.id,
        subject=("conversation", conversation.id),
        summary=f"{user.display_name} started a guided conversation: {template['title']}.",
        tell=[couple.partner_of(user.id)],
        title="A guided conversation",
        body=f"{user.display_name} started a guided conversation. Either of you can pause it "
        "at any time.",
    )
    return conversation


def _lock(conversation: Conversation) -> Conversation:
    """Re-read the conversation holding it, so two partners acting at once take turns."""
    statement = sa.select(Conversation).where(Conversation.id == conversation.id)
    return lock_rows(statement, Conversation.__table__, db.session).one()


def _ensure_writable(conversation: Conversation, now: datetime) -> None:
    """409 unless the conversation can take words now; a finished cool-down lifts a pause."""
    require_active(_couple(conversation))
    if conversation.status in ("completed", "abandoned"):
        raise Conflict(f"This conversation is {conversation.status}.")
    if conversation.status == "paused":
        if conversation.paused_until and conversation.paused_until > now:
            until = conversation.paused_until.strftime("%H:%M UTC")
            raise Conflict(
                f"{_name(conversation.paused_by_id)} asked for a time-out until {until}. Take "
                "the time apart; you can pick it up afterwards."
            )
        _resume(conversation)


def _resume(conversation: Conversation) -> None:
    conversation.status = "active"
    conversation.paused_at = None
    conversation.paused_until = None
    conversation.paused_by_id = None
    conversation.pause_prompted_at = None


@use_case
def write_entry(*, conversation: Conversation, user: accounts.User, text: str) -> Conversation:
    """Write in the current step: only a partner the step asks for."""
    conversation = _lock(conversation)
    now = clock.now()
    _ensure_writable(conversation, now)
    step_index = conversation.current_step
    step = conversation.steps[step_index]
    if user.id not in writers_of(conversation, step_index):
        other = _name(writers_of(conversation, step_index)[0])
        raise Conflict(
            f"This step, '{step['title']}', is for {other} ({step['writers'].replace('_', ' ')}) "
            "to write. Read along, and say when you are ready to move on."
        )
    conversation.entries.append(
        ConversationEntry(step_index=step_index, author_id=user.id, text=text, created_at=now)
    )
    return conversation


@use_case
def mark_ready(*, conversation: Conversation, user: accounts.User) -> Conversation:
    """Agree to move on; when both have and every needed entry is written, the next step opens."""
    conversation = _lock(conversation)
    now = clock.now()
    _ensure_writable(conversation, now)
    step_index = conversation.current_step
    waiting = still_to_write(conversation, step_index)
    if waiting:
        names = " and ".join(_name(uid) for uid in waiting)
        raise Conflict(f"This step still needs {names} to write before you can move on.")
    if not any(r.step_index == step_index and r.user_id == user.id for r in conversation.readiness):
        conversation.readiness.append(
            ConversationReady(step_index=step_index, user_id=user.id, ready_at=now)
        )
        db.session.flush()
    ready = {r.user_id for r in conversation.readiness if r.step_index == step_index}
    couple = _couple(conversation)
    if set(couple.member_ids()) <= ready:
        _advance(conversation, couple, step_index, now)
    return conversation


def _advance(
    conversation: Conversation, couple: couples.Couple, step_index: int, now: datetime
) -> None:
    # Of two partners getting ready at the same moment, exactly one moves the step on.
    last = step_index + 1 == len(conversation.steps)
    moved = claim(
        db.session,
        sa.update(Conversation)
        .where(Conversation.id == conversation.id, Conversation.current_step == step_index)
        .values(
            # past the last step, current_step equals the number of steps
            current_step=step_index + 1,
            status="completed" if last else Conversation.status,
            completed_at=now if last else None,
        ),
    )
    if not moved:
        return
    db.session.refresh(conversation)
    title = conversation.steps[step_index]["title"].rstrip(".?!")
    timeline.record(
        couple_id=couple.id,
        kind="conversation_step_completed",
        subject=("conversation", conversation.id),
        summary=f"You finished a step together: {title}.",
    )
    if last:
        for hook in _completed_hooks:
            hook(conversation)
        timeline.announce(
            couple_id=couple.id,
            kind="conversation_completed",
            subject=("conversation", conversation.id),
            summary=f"You completed a guided conversation: {conversation.template['title']}.",
            tell=couple.member_ids(),
            title="You finished a guided conversation",
            body="You walked through every step together. Take care of yourselves today.",
        )


@use_case
def pause(*, conversation: Conversation, user: accounts.User, minutes: int) -> Conversation:
    """A time-out, by either partner at any time; the other is told."""
    conversation = _lock(conversation)
    now = clock.now()
    require_active(_couple(conversation))
    if conversation.status in ("completed", "abandoned"):
        raise Conflict(f"This conversation is {conversation.status}.")
    if conversation.status == "paused" and conversation.paused_until > now:
        raise Conflict("This conversation is already paused.")
    conversation.status = "paused"
    conversation.paused_at = now
    conversation.paused_until = now + timedelta(minutes=minutes)
    conversation.paused_by_id = user.id
    conversation.pause_prompted_at = None
    couple = _couple(conversation)
    timeline.announce(
        couple_id=couple.id,
        kind="conversation_paused",
        actor_id=user.id,
        subject=("conversation", conversation.id),
        summary=f"{user.display_name} asked for a time-out.",
        tell=[couple.partner_of(user.id)],
        title="A time-out",
        body=f"{user.display_name} asked for a time-out of {minutes} minutes. Take the time "
        "apart, do something calming, and come back to it later.",
    )
    return conversation


@use_case
def resume(*, conversation: Conversation, user: accounts.User) -> Conversation:
    """Pick a paused conversation up: the one who paused at any time, the other after the
    cool-down."""
    conversation = _lock(conversation)
    now = clock.now()
    require_active(_couple(conversation))
    if conversation.status != "paused":
        raise Conflict("This conversation is not paused.")
    if user.id != conversation.paused_by_id and conversation.paused_until > now:
        until = conversation.paused_until.strftime("%H:%M UTC")
        raise Conflict(
            f"{_name(conversation.paused_by_id)} asked for a time-out until {until}; it can be "
            "picked up after that, or earlier by them."
        )
    _resume(conversation)
    couple = _couple(conversation)
    timeline.announce(
        couple_id=couple.id,
        kind="conversation_resumed",
        actor_id=user.id,
        subject=("conversation", conversation.id),
        summary=f"{user.display_name} picked the conversation up again.",
        tell=[couple.partner_of(user.id)],
        title="The conversation is open again",
        body=f"{user.display_name} picked your conversation up again, whenever you are ready.",
    )
    return conversation


@use_case
def abandon(*, conversation: Conversation, user: accounts.User) -> Conversation:
    """Stop a conversation for good; either partner may. The other is told."""
    conversation = _lock(conversation)
    require_active(_couple(conversation))
    if conversation.status in ("completed", "abandoned"):
        raise Conflict(f"This conversation is {conversation.status}.")
    conversation.status = "abandoned"
    conversation.abandoned_at = clock.now()
    conversation.abandoned_by_id = user.id
    couple = _couple(conversation)
    timeline.announce(
        couple_id=couple.id,
        kind="conversation_abandoned",
        actor_id=user.id,
        subject=("conversation", conversation.id),
        summary=f"{user.display_name} stopped a guided conversation.",
        tell=[couple.partner_of(user.id)],
        title="A conversation was stopped",
        body=f"{user.display_name} stopped your guided conversation. That is allowed; you can "
        "start another when you are both ready.",
    )
    return conversation


def list_conversations(
    *, couple: couples.Couple, limit: int, cursor: str | None
) -> Page[Conversation]:
    """A page of the couple's conversations, newest first."""
    return keyset_page(
        sa.select(Conversation).where(Conversation.couple_id == couple.id),
        moment_column=Conversation.started_at,
        id_column=Conversation.id,
        limit=limit,
        cursor=cursor,
        session=db.session,
    )


def recent_conversations(*, couple_id: str, limit: int) -> list[Conversation]:
    """The couple's newest conversations, newest first."""
    return list(
        db.session.scalars(
            sa.select(Conversation)
            .where(Conversation.couple_id == couple_id)
            .order_by(Conversation.started_at.desc())
            .limit(limit)
        )
    )


@use_case
def prompt_long_pauses(*, now: datetime) -> int:
    """A conversation paused for 24 hours prompts both, once, to pick it up."""
    stale = db.session.scalars(
        sa.select(Conversation).where(
            Conversation.status == "paused",
            Conversation.paused_at <= now - PROMPT_AFTER,
            Conversation.pause_prompted_at.is_(None),
        )
    ).all()
    sent = 0
    for conversation in stale:
        claimed = claim(
            db.session,
            sa.update(Conversation)
            .where(Conversation.id == conversation.id, Conversation.pause_prompted_at.is_(None))
            .values(pause_prompted_at=now),
        )
        if not claimed:
            continue
        sent += 1
        couple = _couple(conversation)
        notifications.notify(
            user_ids=couple.member_ids(),
            couple_id=couple.id,
            kind="conversation_pause_prompt",
            title="Ready to pick it up?",
            body="Your guided conversation has been paused for a day. When you both feel "
            "ready, you can pick it up again; there's no rush.",
            subject=("conversation", conversation.id),
        )
    return sent


@couples.on_couple_ended
def stop_with_the_couple(couple: couples.Couple, when: datetime) -> None:
    """Open conversations stop with the couple (quietly)."""
    db.session.execute(
        sa.update(Conversation)
        .where(Conversation.couple_id == couple.id, Conversation.status.in_(("active", "paused")))
        .values(status="abandoned", abandoned_at=when)
    )
