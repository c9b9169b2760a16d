"""The hidden skill model of a simulated agent: pure functions, no database.

Each simulated agent has, for each skill it may practice, a hidden true **level** on the
logit scale that practice.estimator uses: a task of difficulty ``d`` in [0, 1] sits at
``b = 4 (d - 0.5)``, and the agent succeeds with probability

    sigmoid(DISCRIMINATION x (level - b) + bonus)

where ``bonus`` is the lift the approved strategies of the pulled memory give
(``strategy_bonus``). A skill counts as truly mastered when the success on a medium task,
``sigmoid(DISCRIMINATION x level)``, reaches the skill's mastery threshold.

Levels move:

- **practice** raises the level by ``PRACTICE_GAIN`` times how well the task's difficulty
  fits the agent (``fit``: 1 at a predicted success of ``FIT_PEAK``, less for tasks far too
  easy or too hard) times the headroom left below ``CEILING``; a live task teaches
  ``LIVE_SHARE`` of that;
- every attempt made with approved strategies in memory adds ``STRATEGY_GAIN``;
- a day without any attempt on the skill loses part of what practice added above the
  starting level (``FORGET_HALF_LIFE_DAYS``): what an agent knew at the start stays.
"""

import math
from dataclasses import dataclass

DIFFICULTY_SCALE = 4.0  # the same scale as practice.estimator
DISCRIMINATION = 1.0
PRACTICE_GAIN = 0.15
LIVE_SHARE = 0.3
# Practice teaches most when the agent succeeds about three times in four (the band the
# literature on deliberate practice points to), less on tasks far too easy or too hard.
FIT_PEAK = 0.75
FIT_WIDTH = 0.3
CEILING = 4.0
STRATEGY_GAIN = 0.02
MAX_STRATEGY_BONUS = 0.6
# The same pace as the estimator's own assumption (practice.estimator.RELAX_HALF_LIFE_DAYS).
FORGET_HALF_LIFE_DAYS = 60.0
# Starting levels: an agent's aptitude, and each skill spread around it. By default a typical
# skill succeeds on a medium task six times in seven: most skills start mastered, some weak.
APTITUDE_MEAN = 1.8
APTITUDE_SPREAD = 0.4
SKILL_SPREAD = 1.0
LOWEST_START = -1.5
HIGHEST_START = 3.0


@dataclass
class HiddenSkill:
    """What the simulation knows and the product never sees: the true level and where it began."""

    level: float
    start: float

    def advanced(self, gain):
        return HiddenSkill(level=self.level + gain, start=self.start)


def sigmoid(x):
    if x >= 0:
        return 1.0 / (1.0 + math.exp(-x))
    e = math.exp(x)
    return e / (1.0 + e)


def logit(p):
    return math.log(p / (1.0 - p))


def difficulty_logit(difficulty):
    return DIFFICULTY_SCALE * (difficulty - 0.5)


def success_probability(level, difficulty, bonus=0.0):
    """The true chance that the agent succeeds on a task of this difficulty."""
    return sigmoid(DISCRIMINATION * (level - difficulty_logit(difficulty)) + bonus)


def medium_success(level):
    """The true success on a medium task: what a skill's mastery threshold is compared with."""
    return success_probability(level, 0.5)


def mastery_level(threshold):
    """The level at which the success on a medium task equals the threshold."""
    return logit(threshold) / DISCRIMINATION


def is_mastered(skill, threshold):
    return medium_success(skill.level) >= threshold


def strategy_bonus(strategies):
    """The lift (in logits) of having this many approved strategies for the skill in memory."""
    if strategies <= 0:
        return 0.0
    return MAX_STRATEGY_BONUS * (1.0 - 0.5**strategies)


def fit(probability):
    """How well a task's difficulty suits the agent, from its chance of success: 1 at FIT_PEAK."""
    return math.exp(-(((probability - FIT_PEAK) / FIT_WIDTH) ** 2))


def learning_gain(skill, difficulty, *, practice, strategies=0):
    """How much one attempt raises the level."""
    headroom = min(max((CEILING - skill.level) / CEILING, 0.0), 1.0)
    gain = PRACTICE_GAIN * fit(success_probability(skill.level, difficulty)) * headroom
    if not practice:
        gain *= LIVE_SHARE
    if strategies > 0:
        gain += STRATEGY_GAIN
    return gain


def forgotten(skill, days):
    """The skill after ``days`` without any attempt: part of the gain above its start is lost."""
    if days <= 0 or skill.level <= skill.start:
        return skill
    kept = 0.5 ** (days / FORGET_HALF_LIFE_DAYS)
    return HiddenSkill(level=skill.start + (skill.level - skill.start) * kept, start=skill.start)


def starting_levels(rng, skill_keys, aptitude=APTITUDE_MEAN):
    """A hidden level for each skill key (in the given order) from one agent's random stream,
    around an aptitude drawn near ``aptitude`` (the level of a typical skill)."""
    aptitude = rng.gauss(aptitude, APTITUDE_SPREAD)
    levels = {}
    for key in skill_keys:
        level = min(max(rng.gauss(aptitude, SKILL_SPREAD), LOWEST_START), HIGHEST_START)
        levels[key] = HiddenSkill(level=level, start=level)
    return levels
