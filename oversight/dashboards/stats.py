"""Did practice help? A success rate before and after a moment, each with a 95% Wilson interval,
and a test of the difference: the two-proportion z-test, or Fisher's exact test when a count is
too small for the normal approximation. Plain math, no scipy."""

import math
from dataclasses import dataclass

# The 97.5th percentile of the standard normal distribution: two-sided 95%.
Z_95 = 1.959963984540054
# Below this expected count in any cell of the 2x2 table the z-test's normal approximation is
# poor (the usual rule of thumb), so Fisher's exact test is used instead.
MIN_EXPECTED_COUNT = 5
# Tables as likely as the observed one, up to float noise, count as "as extreme" (as in R).
RELATIVE_TOLERANCE = 1e-7

Z_TEST = "two-proportion z-test"
FISHER_TEST = "Fisher's exact test"


@dataclass(frozen=True)
class Rate:
    """Successes out of attempts, with the 95% Wilson interval of the success rate."""

    successes: int
    attempts: int
    low: float | None
    high: float | None

    @property
    def value(self):
        return self.successes / self.attempts if self.attempts else None


@dataclass(frozen=True)
class Comparison:
    """Two success rates and the p-value of the test that they differ (None: not testable)."""

    before: Rate
    after: Rate
    test: str | None
    p_value: float | None

    @property
    def difference(self):
        if self.before.value is None or self.after.value is None:
            return None
        return self.after.value - self.before.value


def wilson_interval(successes, attempts, z=Z_95):
    """The Wilson score interval of a binomial proportion, as (low, high); (None, None) at n=0."""
    _check_counts(successes, attempts)
    if attempts == 0:
        return None, None
    p = successes / attempts
    z2 = z * z
    denominator = 1 + z2 / attempts
    centre = (p + z2 / (2 * attempts)) / denominator
    half = z / denominator * math.sqrt(p * (1 - p) / attempts + z2 / (4 * attempts * attempts))
    return max(0.0, centre - half), min(1.0, centre + half)


def rate(successes, attempts):
    low, high = wilson_interval(successes, attempts)
    return Rate(successes=successes, attempts=attempts, low=low, high=high)


def two_proportion_z_test(successes_a, attempts_a, successes_b, attempts_b):
    """The pooled two-proportion z-test: (z, two-sided p-value)."""
    _check_counts(successes_a, attempts_a)
    _check_counts(successes_b, attempts_b)
    if attempts_a == 0 or attempts_b == 0:
        raise ValueError("both groups need at least one attempt")
    pooled = (successes_a + successes_b) / (attempts_a + attempts_b)
    spread = math.sqrt(pooled * (1 - pooled) * (1 / attempts_a + 1 / attempts_b))
    difference = successes_b / attempts_b - successes_a / attempts_a
    if spread == 0:
        # Every attempt succeeded, or every one failed: the rates are equal.
        return 0.0, 1.0
    z = difference / spread
    return z, math.erfc(abs(z) / math.sqrt(2))


def fisher_exact(a, b, c, d):
    """Two-sided p-value of Fisher's exact test on the table [[a, b], [c, d]].

    Sums the hypergeometric probabilities of every table with the same margins that is no more
    likely than the observed one."""
    for count in (a, b, c, d):
        if count < 0:
            raise ValueError("counts cannot be negative")
    row, column, total = a + b, a + c, a + b + c + d
    if total == 0:
        return 1.0
    low, high = max(0, column - (total - row)), min(row, column)

    def log_probability(x):
        return (
            _log_choose(row, x) + _log_choose(total - row, column - x) - _log_choose(total, column)
        )

    observed = log_probability(a)
    threshold = observed + math.log1p(RELATIVE_TOLERANCE)
    p_value = sum(
        math.exp(log_probability(x))
        for x in range(low, high + 1)
        if log_probability(x) <= threshold
    )
    return min(1.0, p_value)


def compare_rates(successes_before, attempts_before, successes_after, attempts_after):
    """Both rates with their intervals and the p-value of the fitting test (see the module)."""
    before = rate(successes_before, attempts_before)
    after = rate(successes_after, attempts_after)
    if attempts_before == 0 or attempts_after == 0:
        return Comparison(before=before, after=after, test=None, p_value=None)
    failures_before = attempts_before - successes_before
    failures_after = attempts_after - successes_after
    if (
        _smallest_expected_count(
            attempts_before, attempts_after, successes_before + successes_after
        )
        < MIN_EXPECTED_COUNT
    ):
        p_value = fisher_exact(successes_before, failures_before, successes_after, failures_after)
        return Comparison(before=before, after=after, test=FISHER_TEST, p_value=p_value)
    _, p_value = two_proportion_z_test(
        successes_before, attempts_before, successes_after, attempts_after
    )
    return Comparison(before=before, after=after, test=Z_TEST, p_value=p_value)


def _smallest_expected_count(attempts_a, attempts_b, successes):
    total = attempts_a + attempts_b
    failures = total - successes
    return min(
        attempts * outcome / total
        for attempts in (attempts_a, attempts_b)
        for outcome in (successes, failures)
    )


def _log_choose(n, k):
    return math.lgamma(n + 1) - math.lgamma(k + 1) - math.lgamma(n - k + 1)


def _check_counts(successes, attempts):
    if attempts < 0 or successes < 0 or successes > attempts:
        raise ValueError(f"need 0 <= successes <= attempts, not {successes} of {attempts}")
