"""Decisions on proposed and live strategies, and the two-approval rule."""

from django.contrib.auth import get_user_model
from django.db import transaction

from oversight.models import ReviewDecision
from oversight.services.review.claims import _check_claim, _drop_claim
from oversight.services.review.common import (
    OPERATE_PERMISSION,
    REVIEW_PERMISSION,
    Action,
    InvalidDecision,
    NotAllowed,
    Outcome,
    Reason,
    SecondApprovalNeeded,
    _check_reason,
    _check_revision,
    _has,
    _name,
    _reason_text,
    _record,
    _require,
    _text,
)
from practice.models import Strategy, StrategyVersion
from practice.services.strategies import (
    change_status,
    publish_release,
    revise_strategy,
    strategy_snapshot,
)

# --- Strategy decisions ---------------------------------------------------------------------------


def accept(strategy, *, actor, revision, comment=""):
    """Accept a proposed strategy: it goes live in a new memory release (for a sensitive skill,
    only once a second person accepts)."""
    with transaction.atomic():
        strategy = _open_strategy(strategy, actor, revision, {Strategy.Status.PROPOSED})
        return _approve_or_go_live(
            strategy, actor=actor, revision=revision, action=Action.ACCEPT, comment=comment
        )


def edit_and_accept(strategy, *, actor, revision, when, do, because, comment=""):
    """Save the reviewer's edit as a new version and accept it. For a sensitive skill the edit
    is its author's approval: the strategy stays proposed until someone else accepts it."""
    text = {"when": when.strip(), "do": do.strip(), "because": because.strip()}
    missing = [name for name, value in text.items() if not value]
    if missing:
        raise InvalidDecision(f"The edit leaves {', '.join(missing)} empty.")
    with transaction.atomic():
        strategy = _open_strategy(strategy, actor, revision, {Strategy.Status.PROPOSED})
        version = strategy.current_version
        if (version.when_text, version.do_text, version.because_text) == tuple(text.values()):
            raise InvalidDecision("The edit changes nothing; accept the strategy as it is instead.")
        before = strategy_snapshot(strategy)
        strategy = revise_strategy(strategy, actor=actor, **text)
        if strategy.skill.sensitive:
            decision = _record(
                strategy,
                actor=actor,
                action=Action.EDIT_ACCEPT,
                revision=revision,
                before=before,
                after=_approval_snapshot(strategy),
                comment=comment,
            )
            _drop_claim(strategy)
            return Outcome(
                strategy,
                decision,
                None,
                f"Strategy #{strategy.pk} edited as version {strategy.current_version.number}. "
                f"{strategy.skill.key} is sensitive: your edit counts as your approval, and a "
                "second reviewer must accept it before it goes live.",
            )
        return _go_live(
            strategy,
            actor=actor,
            revision=revision,
            action=Action.EDIT_ACCEPT,
            before=before,
            comment=comment,
        )


def reject(strategy, *, actor, revision, reason_code, comment=""):
    """Reject a proposed strategy with a reason code (and a comment when the reason is 'other')."""
    _check_reason(reason_code, comment, required=True)
    with transaction.atomic():
        strategy = _open_strategy(strategy, actor, revision, {Strategy.Status.PROPOSED})
        strategy, decision = _move_and_record(
            strategy, Strategy.Status.REJECTED, Action.REJECT, actor, revision, reason_code, comment
        )
        _drop_claim(strategy)
    return Outcome(
        strategy,
        decision,
        None,
        f"Strategy #{strategy.pk} rejected ({Reason(reason_code).label.lower()}).",
    )


RESOLUTIONS = {"replace": Action.REPLACE, "keep_both": Action.KEEP_BOTH}


def resolve_conflict(strategy, *, actor, revision, resolution, comment=""):
    """Accept a strategy that contradicts a live one: 'replace' retires the live one, 'keep_both'
    leaves it live beside the new one. Sensitive skills need two approvals, as for accept."""
    if resolution not in RESOLUTIONS:
        raise InvalidDecision(f"Unknown resolution {resolution!r}: replace or keep_both.")
    with transaction.atomic():
        strategy = _open_strategy(strategy, actor, revision, {Strategy.Status.PROPOSED})
        contradicted = strategy.conflicts_with
        if contradicted is None:
            raise InvalidDecision(
                f"Strategy #{strategy.pk} contradicts no live strategy; accept or reject it."
            )
        if resolution == "replace" and contradicted.status != Strategy.Status.LIVE:
            raise InvalidDecision(
                f"Strategy #{contradicted.pk}, which this one contradicts, is "
                f"{contradicted.get_status_display().lower()} now, not live; accept this one "
                "instead."
            )
        return _approve_or_go_live(
            strategy,
            actor=actor,
            revision=revision,
            action=RESOLUTIONS[resolution],
            comment=comment,
            replaced=contradicted if resolution == "replace" else None,
        )


def retire(strategy, *, actor, revision, comment, reason_code=""):
    """Take a live strategy out of practice memory, in a new release; the comment says why."""
    _check_reason(reason_code, comment, required=False)
    if not comment.strip():
        raise InvalidDecision("Say why the strategy is retired.")
    with transaction.atomic():
        strategy = _open_strategy(strategy, actor, revision, {Strategy.Status.LIVE})
        strategy, decision = _move_and_record(
            strategy, Strategy.Status.RETIRED, Action.RETIRE, actor, revision, reason_code, comment
        )
        release = publish_release(actor=actor, note=f"Retired strategy #{strategy.pk}")
        _drop_claim(strategy)
    return Outcome(
        strategy,
        decision,
        release,
        f"Strategy #{strategy.pk} retired; memory release {release.number} no longer has it.",
    )


def restore_version(strategy, version, *, actor, revision, comment=""):
    """Bring back an earlier version's text as a new version (source: restore) and put the
    strategy back to proposed, so the text goes through review like any edit. A live strategy
    leaves practice memory (new release) until its restored text is accepted."""
    if not (_has(actor, REVIEW_PERMISSION) or _has(actor, OPERATE_PERMISSION)):
        raise NotAllowed(
            f"{_name(actor)} may not restore strategy versions: it needs the reviewer or "
            "operator role."
        )
    with transaction.atomic():
        statuses = set(Strategy.Status) - {Strategy.Status.FILTERED}
        strategy = _open_strategy(strategy, actor, revision, statuses, permission=None)
        if version.strategy_id != strategy.pk:
            raise InvalidDecision(
                f"Version {version.pk} is not a version of strategy #{strategy.pk}."
            )
        current = strategy.current_version
        if _text(version) == _text(current):
            raise InvalidDecision(
                f"Version {version.number} says the same as the current version "
                f"{current.number}; there is nothing to restore."
            )
        before = strategy_snapshot(strategy)
        reason = f"Restore version {version.number}" + (f": {comment}" if comment else "")
        was_live = strategy.status == Strategy.Status.LIVE
        if was_live:
            strategy = change_status(strategy, Strategy.Status.RETIRED, actor=actor, reason=reason)
        strategy = revise_strategy(
            strategy,
            when=version.when_text,
            do=version.do_text,
            because=version.because_text,
            actor=actor,
            source=StrategyVersion.Source.RESTORE,
        )
        if strategy.status != Strategy.Status.PROPOSED:
            strategy = change_status(strategy, Strategy.Status.PROPOSED, actor=actor, reason=reason)
        decision = _record(
            strategy,
            actor=actor,
            action=Action.RESTORE,
            revision=revision,
            before=before,
            after={**strategy_snapshot(strategy), "restored_from": version.number},
            comment=comment,
        )
        release = None
        if was_live:
            release = publish_release(
                actor=actor, note=f"Strategy #{strategy.pk} back in review after a restore"
            )
        _drop_claim(strategy)
    return Outcome(
        strategy,
        decision,
        release,
        f"Version {version.number} of strategy #{strategy.pk} restored as version "
        f"{strategy.current_version.number}; it is back in the review queue.",
    )


def approvers(strategy):
    """Ids of the people who approved the strategy's current text (see the module docstring)."""
    version = strategy.current_version
    if version is None:
        return set()
    people = set(
        ReviewDecision.objects.filter(
            strategy=strategy, action=Action.APPROVE, after__version=version.number
        ).values_list("actor_id", flat=True)
    )
    edited = {StrategyVersion.Source.EDIT, StrategyVersion.Source.RESTORE}
    if version.source in edited and version.created_by_id:
        people.add(version.created_by_id)
    return people


def _approve_or_go_live(strategy, *, actor, revision, action, comment, replaced=None):
    """The accept step shared by accept, replace and keep both, with the two-person rule."""
    if strategy.skill.sensitive:
        people = approvers(strategy)
        if actor.pk in people:
            raise SecondApprovalNeeded(
                f"You already approved version {strategy.current_version.number} of strategy "
                f"#{strategy.pk} (an edit or restore counts as its author's approval). "
                f"{strategy.skill.key} is sensitive: another reviewer must accept it."
            )
        if not people:
            decision = _record(
                strategy,
                actor=actor,
                action=Action.APPROVE,
                revision=revision,
                before=strategy_snapshot(strategy),
                after={**_approval_snapshot(strategy, extra=actor), "intended": action.value},
                comment=comment,
            )
            _drop_claim(strategy)
            return Outcome(
                strategy,
                decision,
                None,
                f"First approval of strategy #{strategy.pk} recorded. {strategy.skill.key} is "
                "sensitive: it goes live when a second reviewer accepts it.",
            )
    return _go_live(
        strategy,
        actor=actor,
        revision=revision,
        action=action,
        before=strategy_snapshot(strategy),
        comment=comment,
        replaced=replaced,
    )


def _go_live(strategy, *, actor, revision, action, before, comment, replaced=None):
    if replaced is not None:
        replaced_before = strategy_snapshot(replaced)
        replaced = change_status(
            replaced,
            Strategy.Status.RETIRED,
            actor=actor,
            reason=f"Replaced by strategy #{strategy.pk}",
        )
        _record(
            replaced,
            actor=actor,
            action=Action.RETIRE,
            revision=replaced_before["revision"],
            before=replaced_before,
            after=strategy_snapshot(replaced),
            comment=f"Replaced by strategy #{strategy.pk}" + (f": {comment}" if comment else ""),
        )
        _drop_claim(replaced)
    strategy = change_status(strategy, Strategy.Status.LIVE, actor=actor, reason=comment)
    after = strategy_snapshot(strategy)
    if replaced is not None:
        after["replaced"] = replaced.pk
    decision = _record(
        strategy,
        actor=actor,
        action=action,
        revision=revision,
        before=before,
        after=after,
        comment=comment,
    )
    verb = {
        Action.ACCEPT: "Accepted",
        Action.EDIT_ACCEPT: "Edited and accepted",
        Action.REPLACE: "Accepted in place of",
        Action.KEEP_BOTH: "Accepted beside",
    }[action]
    note = f"{verb} strategy #{strategy.pk}"
    if action in (Action.REPLACE, Action.KEEP_BOTH):
        note = f"{verb} strategy #{strategy.conflicts_with_id}: strategy #{strategy.pk}"
    release = publish_release(actor=actor, note=note)
    _drop_claim(strategy)
    replaced_text = f"; strategy #{replaced.pk} retired" if replaced is not None else ""
    return Outcome(
        strategy,
        decision,
        release,
        f"Strategy #{strategy.pk} is live{replaced_text}; agents get it from memory release "
        f"{release.number}.",
    )


def _open_strategy(strategy, actor, revision, statuses, *, permission=REVIEW_PERMISSION):
    """Lock the strategy and run the checks every decision makes (role, claim, revision,
    status); returns the locked, fresh strategy."""
    if permission:
        _require(actor, permission, "decide strategies")
    strategy = (
        Strategy.objects.select_for_update(of=("self",))
        .select_related("skill", "current_version", "conflicts_with")
        .get(pk=strategy.pk)
    )
    _check_claim(strategy, actor)
    _check_revision(strategy, revision)
    if strategy.status not in statuses:
        raise InvalidDecision(
            f"Strategy #{strategy.pk} is {strategy.get_status_display().lower()}; this decision "
            f"applies to {' or '.join(sorted(Strategy.Status(s).label.lower() for s in statuses))}"
            " strategies."
        )
    return strategy


def _approval_snapshot(strategy, extra=None):
    people = approvers(strategy) | ({extra.pk} if extra is not None else set())
    names = get_user_model().objects.filter(pk__in=people).order_by("username")
    return {
        **strategy_snapshot(strategy),
        "approved_by": [user.get_username() for user in names],
    }


def _move_and_record(strategy, status, action, actor, revision, reason_code, comment):
    """Change the strategy's status with the reason as its audit reason, and record the
    decision: (the strategy, the decision)."""
    before = strategy_snapshot(strategy)
    strategy = change_status(
        strategy, status, actor=actor, reason=_reason_text(reason_code, comment)
    )
    decision = _record(
        strategy,
        actor=actor,
        action=action,
        revision=revision,
        before=before,
        after=strategy_snapshot(strategy),
        reason_code=reason_code,
        comment=comment,
    )
    return strategy, decision
