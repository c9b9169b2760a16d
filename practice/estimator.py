"""The competency model: a Gaussian ability on the logit scale (Glicko / one-parameter IRT).

An agent's ability on a skill is ``theta ~ N(mu, var)``. A task of difficulty ``d`` in [0, 1]
sits at ``b = DIFFICULTY_SCALE * (d - 0.5)`` on the same scale, and the chance of success is
``sigmoid(theta - b)`` (the Rasch model). Averaging over the uncertainty in ``theta`` gives the
probit-style approximation ``sigmoid((mu - b) / sqrt(1 + pi * var / 8))``.

Each attempt updates the state in constant time with one Laplace step, the same step as
Glicko's: with ``p = sigmoid(mu - b)``, ``var' = 1 / (1 / var + p (1 - p))`` and
``mu' = mu + var' (y - p)``. The surprise ``y - p`` is what makes it aware of difficulty: a
success on a hard task (small ``p``) moves the estimate more than one on an easy task, and a
failure on an easy task more than one on a hard task.

While a skill goes unpracticed, ``var`` grows by ``DRIFT_PER_DAY`` a day (capped at
``PRIOR_VAR``) and ``mu`` relaxes toward ``PRIOR_MU`` with a half-life of
``RELAX_HALF_LIFE_DAYS``, so old evidence counts for less and the skill comes back as uncertain.

The state is a JSON-ready dict ``{"mu", "var", "updated_at"}`` (``updated_at`` an ISO 8601
string or None); it holds no history, so an update costs the same after a thousand attempts
as after one. An empty dict reads as the prior. Nothing here touches the database.

**The agent's own prior.** Stored states start from the global prior, which says nothing about
the agent. Reading them for decisions, the scheduler swaps it for the agent's own prior
(``agent_prior``: the mean of the agent's abilities over the skills it has attempted, and their
spread), as a hierarchical model would (``with_prior``). A skill the agent never tried is then
as likely to be mastered as its other skills are, not a coin flip; a skill tried a few times is
pulled toward the agent's level rather than toward 0; and the evidence of a skill unpracticed
for long fades into that prior. ``below_probability`` and ``expected_shortfall`` read the result
against a mastery threshold on the ability scale.
"""

import math
from datetime import datetime

# The prior: a medium task (d = 0.5) is a coin flip, and +-2 logits (one standard deviation)
# spans success rates from 12% to 88%. With this variance the prior's uncertainty on the
# 0..1 scale is exactly 0.5, the widest the delta method can report here.
PRIOR_MU = 0.0
PRIOR_VAR = 4.0
# The whole difficulty range [0, 1] spans 4 logits: against an ability of 0 the easiest task
# succeeds 88% of the time and the hardest 12%.
DIFFICULTY_SCALE = 4.0
MEDIUM_DIFFICULTY = 0.5
# Unpracticed, an ability's variance grows like Glicko's rating deviation: one standard
# deviation of about 0.77 logits over a month, reaching the prior's after about 200 days.
DRIFT_PER_DAY = 0.02
# Unpracticed, the mean forgets half its distance from the prior every 60 days.
RELAX_HALF_LIFE_DAYS = 60.0
# Like Glicko's minimum rating deviation: however much evidence piles up, the estimate keeps
# enough variance (sd 0.22 logits) to follow an agent that really changes.
MIN_VAR = 0.05
# The target success rate for practice: the middle of the 70-85% band.
PRACTICE_TARGET = 0.775
# The agent's own prior needs abilities on a few skills; however alike those look, one skill is
# taken to differ from the agent's typical level by at least one logit (sd): 73% rather than
# 50% on a medium task.
AGENT_PRIOR_MIN_SKILLS = 3
AGENT_PRIOR_MIN_VAR = 1.0

_SECONDS_PER_DAY = 86400.0


def initial_state(at=None):
    """The prior, stamped with ``at`` when given."""
    return {"mu": PRIOR_MU, "var": PRIOR_VAR, "updated_at": _stamp(at)}


def observed_outcome(*, success, score=None):
    """The outcome ``y`` in [0, 1] an attempt counts as: its score, or 1/0 when it has none."""
    if score is None:
        return 1.0 if success else 0.0
    return _in_unit_interval(score, "score")


def decay(state, now):
    """The state as of ``now``: more uncertain and closer to the prior for the time unpracticed."""
    mu, var, updated_at = _read(state)
    _require_aware(now)
    if updated_at is None:
        return _write(mu, var, now)
    if now <= updated_at:
        return _write(mu, var, updated_at)
    days = (now - updated_at).total_seconds() / _SECONDS_PER_DAY
    relaxed_mu = PRIOR_MU + (mu - PRIOR_MU) * 0.5 ** (days / RELAX_HALF_LIFE_DAYS)
    grown_var = min(var + DRIFT_PER_DAY * days, max(var, PRIOR_VAR))
    return _write(relaxed_mu, grown_var, now)


def update(state, *, y, difficulty, at):
    """The state after an attempt with outcome ``y`` on a task of ``difficulty``, made at ``at``.

    The state is decayed to ``at`` first; an attempt older than the state is applied without
    decay, and the state keeps its later time.
    """
    y = _in_unit_interval(y, "y")
    b = _logit_difficulty(difficulty)
    mu, var, updated_at = _read(decay(state, at))
    p = _sigmoid(mu - b)
    new_var = max(1.0 / (1.0 / var + p * (1.0 - p)), min(MIN_VAR, var))
    new_mu = mu + new_var * (y - p)
    return _write(new_mu, new_var, updated_at)


def predicted_success(state, difficulty):
    """The chance of success on a task of ``difficulty``, averaged over the ability's uncertainty."""
    mu, var, _ = _read(state)
    return _sigmoid((mu - _logit_difficulty(difficulty)) / _spread(var))


def competency(state):
    """``(estimate, uncertainty)`` on 0..1: the predicted success on a medium task and its sd.

    The sd comes from the delta method, ``sigmoid'(mu - b) * sqrt(var)``, clipped to [0, 0.5].
    """
    mu, var, _ = _read(state)
    estimate = predicted_success(state, MEDIUM_DIFFICULTY)
    p = _sigmoid(mu - _logit_difficulty(MEDIUM_DIFFICULTY))
    uncertainty = min(max(p * (1.0 - p) * math.sqrt(var), 0.0), 0.5)
    return estimate, uncertainty


def difficulty_for(state, target=PRACTICE_TARGET):
    """The difficulty in [0, 1] at which the predicted success equals ``target`` (clipped)."""
    if not 0.0 < target < 1.0:
        raise ValueError(f"target must lie strictly between 0 and 1, not {target!r}")
    mu, var, _ = _read(state)
    b = mu - _spread(var) * math.log(target / (1.0 - target))
    return min(max(MEDIUM_DIFFICULTY + b / DIFFICULTY_SCALE, 0.0), 1.0)


def classify(state, threshold, z=1.0):
    """``"weak"`` or ``"mastered"`` when confidently below or above ``threshold``, else ``"learning"``."""
    estimate, uncertainty = competency(state)
    if estimate + z * uncertainty < threshold:
        return "weak"
    if estimate - z * uncertainty > threshold:
        return "mastered"
    return "learning"


def agent_prior(states):
    """``(mu, var)`` for a skill of this agent known only by its other skills' ``states``.

    The mean of their abilities, and the variance of a skill drawn from them (the spread of
    their means plus their mean variance), within [AGENT_PRIOR_MIN_VAR, PRIOR_VAR]. With fewer
    than AGENT_PRIOR_MIN_SKILLS states, the global prior.
    """
    read = [_read(state)[:2] for state in states if state]
    if len(read) < AGENT_PRIOR_MIN_SKILLS:
        return PRIOR_MU, PRIOR_VAR
    mean = sum(mu for mu, _ in read) / len(read)
    spread = sum((mu - mean) ** 2 + var for mu, var in read) / len(read)
    return mean, min(max(spread, AGENT_PRIOR_MIN_VAR), PRIOR_VAR)


def with_prior(state, prior_mu, prior_var):
    """The state with its global prior swapped for ``N(prior_mu, prior_var)``.

    A state is the global prior times the evidence of its attempts (Gaussian in the Laplace
    approximation), so the evidence is what remains after dividing the prior out; a state as
    uncertain as the global prior carries none, and reads as the new prior.
    """
    if not prior_var > 0:
        raise ValueError(f"a prior needs a positive variance, not {prior_var!r}")
    mu, var, updated_at = _read(state)
    evidence_precision = 1.0 / var - 1.0 / PRIOR_VAR
    evidence_weight = mu / var - PRIOR_MU / PRIOR_VAR
    if evidence_precision <= 0:
        evidence_precision, evidence_weight = 0.0, 0.0
    precision = evidence_precision + 1.0 / prior_var
    return _write((evidence_weight + prior_mu / prior_var) / precision, 1.0 / precision, updated_at)


def mastery_ability(threshold, margin=0.0):
    """The ability at which a medium task succeeds at the ``threshold`` rate, plus ``margin``."""
    threshold = _in_unit_interval(threshold, "threshold")
    if not 0.0 < threshold < 1.0:
        raise ValueError(
            f"a mastery threshold must lie strictly between 0 and 1, not {threshold!r}"
        )
    medium = _logit_difficulty(MEDIUM_DIFFICULTY)
    return medium + math.log(threshold / (1.0 - threshold)) + margin


def below_probability(state, threshold, margin=0.0):
    """The chance that the ability lies below ``mastery_ability(threshold, margin)``."""
    mu, var, _ = _read(state)
    z = (mastery_ability(threshold, margin) - mu) / math.sqrt(var)
    return 0.5 * math.erfc(-z / math.sqrt(2.0))


def expected_shortfall(state, threshold, margin=0.0):
    """How far (in logits) the ability is expected to fall short of the mastery ability: the
    mean of ``max(mastery - theta, 0)``; large when surely far below, or when very uncertain."""
    mu, var, _ = _read(state)
    sd = math.sqrt(var)
    z = (mastery_ability(threshold, margin) - mu) / sd
    density = math.exp(-z * z / 2.0) / math.sqrt(2.0 * math.pi)
    return sd * (density + z * 0.5 * math.erfc(-z / math.sqrt(2.0)))


def roll_up(child_states_with_weights):
    """A parent skill's state from ``(child_state, weight)`` pairs.

    Children count by weight times precision, so a barely tried child moves the parent little;
    the parent's variance is that of the mixture, which includes how far the children disagree.
    Decay the children to a common time first; the parent takes the latest of their times.
    With no children (or no weight) the parent is at the prior.
    """
    children = []
    for child_state, weight in child_states_with_weights:
        if weight < 0:
            raise ValueError(f"a child's weight cannot be negative, not {weight!r}")
        children.append((*_read(child_state), weight))
    total = sum(weight / var for _, var, _, weight in children)
    times = [updated_at for _, _, updated_at, _ in children if updated_at is not None]
    latest = max(times) if times else None
    if total <= 0:
        return initial_state(latest)
    shares = [(mu, var, weight / var / total) for mu, var, _, weight in children]
    mean = sum(share * mu for mu, _, share in shares)
    variance = sum(share * (var + (mu - mean) ** 2) for mu, var, share in shares)
    return _write(mean, variance, latest)


def _read(state):
    if not state:
        return PRIOR_MU, PRIOR_VAR, None
    var = float(state["var"])
    if not var > 0:
        raise ValueError(f"a competency state needs a positive variance, not {var!r}")
    stamp = state.get("updated_at")
    return float(state["mu"]), var, datetime.fromisoformat(stamp) if stamp else None


def _write(mu, var, updated_at):
    return {"mu": mu, "var": var, "updated_at": _stamp(updated_at)}


def _stamp(at):
    if at is None:
        return None
    _require_aware(at)
    return at.isoformat()


def _require_aware(at):
    # Mixing naive and aware times would fail later, far from the cause.
    if at.tzinfo is None or at.utcoffset() is None:
        raise ValueError("competency times must be timezone-aware")


def _logit_difficulty(difficulty):
    if difficulty is None:
        difficulty = MEDIUM_DIFFICULTY
    return DIFFICULTY_SCALE * (_in_unit_interval(difficulty, "difficulty") - MEDIUM_DIFFICULTY)


def _in_unit_interval(value, name):
    value = float(value)
    if not 0.0 <= value <= 1.0:
        raise ValueError(f"{name} must lie in [0, 1], not {value!r}")
    return value


def _spread(var):
    return math.sqrt(1.0 + math.pi * var / 8.0)


def _sigmoid(x):
    # Written two ways so that neither branch overflows for large |x|.
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)
