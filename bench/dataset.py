"""The benchmark's database: a skill tree, agents with keys and boundaries, and live strategies
published as one memory release. Bulk inserts, so 20,000 strategies take seconds.

The text is generated from a support-desk vocabulary with a topic per skill, so strategies of
one skill share words but differ from each other, and a task context ranks them (BM25 works).
"""

import random
import time
from dataclasses import dataclass, field

from django.db import transaction
from django.db.models import OuterRef, Subquery

from practice.models import Strategy, StrategyVersion
from practice.services.agents import create_agent, issue_key
from practice.services.strategies import publish_release
from taxonomy.models import Skill

CATEGORIES = (
    "orders billing shipping returns accounts travel devices policy escalation tone".split()
)
SUBJECTS = "customer caller buyer member tenant merchant traveler patient driver student".split()
NOUNS = (
    "order refund invoice shipment address password subscription plan discount coupon warranty "
    "exchange delivery payment card account booking reservation flight seat baggage ticket "
    "receipt charge fee balance statement transfer limit claim appointment prescription "
    "insurance device router license upgrade downgrade trial renewal voucher gift loyalty points "
    "tracking package label carrier warehouse inventory size color item bundle quote estimate "
    "contract deadline identity document photo signature email phone profile language currency "
    "timezone cart checkout promotion backorder pickup locker courier customs tax deposit "
    "installment overdraft dispute chargeback credit debit pin token session cookie browser "
    "firmware battery screen charger cable adapter manual schedule shift ride fare tip"
).split()
ADJECTIVES = (
    "damaged missing duplicate expired partial late wrong unpaid pending locked international "
    "recurring cancelled refunded frozen disputed oversized fragile urgent unverified blocked "
    "outdated conflicting ambiguous incomplete unsigned overdue discounted prepaid shared"
).split()
VERBS = (
    "asks-about complains-about disputes cancels requests reports changes mentions questions "
    "forgets repeats escalates confirms rejects doubts misreads insists-on withdraws reopens "
    "upgrades"
).split()
TOOLS = (
    "lookup_order get_user_details cancel_pending_order modify_address exchange_items "
    "return_items transfer_to_human search_flights book_reservation update_payment "
    "issue_refund check_inventory track_package verify_identity reset_password apply_coupon "
    "open_ticket close_ticket send_email calculate_fee"
).split()
CHECKS = "verify compare confirm check cross-check reconcile validate".split()
SOURCES = "conversation account record ledger database history profile receipt".split()
DO_TEMPLATES = (
    "call {tool} with the {noun} id from the {source} before you {verb} the {noun2}",
    "ask for the {noun} number and {check} it against the {adj} {noun2} record",
    "{check} the {adj} {noun} with the {subject} and quote the {noun2} policy word for word",
    "read the {noun} {source} first and only then call {tool} for the {adj} {noun2}",
    "summarize the {adj} {noun} back to the {subject} and wait for a yes before {tool}",
    "split the request: settle the {noun} with {tool} and handle the {adj} {noun2} separately",
)
WHEN_TEMPLATES = (
    "when the {subject} {verb} a {adj} {noun} after a {noun2} change",
    "when a {adj} {noun} appears on the {subject}'s {noun2} and the {source} disagrees",
    "when the {subject} {verb} the {noun} but gives no {noun2} number",
    "when the {noun} is {adj} and the {subject} {verb} the {noun2} at the same time",
    "when the {subject} mentions a {adj} {noun} from an earlier {noun2}",
)
BECAUSE_TEMPLATES = (
    "the {source} is the only place that shows whether the {noun} is {adj}",
    "acting on a {adj} {noun} without the {noun2} breaks the {noun2} policy",
    "earlier attempts that skipped {tool} changed the wrong {noun}",
    "the {subject} often confuses the {noun} with the {noun2}",
    "a {adj} {noun} cannot be undone once {tool} has run",
)


@dataclass
class Workspace:
    """What the load generator needs from the built database."""

    leaf_keys: list[str]
    agent_secrets: list[str]  # full API key texts, one per agent
    topics: dict[str, list[str]] = field(default_factory=dict)  # skill key -> its topic words
    release_number: int = 0


def build(*, categories, skills_per_category, strategies_per_skill, agents, seed, say=print):
    """Create the whole benchmark database and return what the load generator needs."""
    rng = random.Random(seed)
    with transaction.atomic():
        leaf_keys = _build_skills(categories, skills_per_category, say)
    topics = {key: _topic(rng) for key in leaf_keys}
    with transaction.atomic():
        _build_strategies(leaf_keys, topics, strategies_per_skill, rng, say)
    started = time.monotonic()
    release = publish_release(note="benchmark data set")
    say(
        f"  published release {release.number} with {release.entries.count():,} entries "
        f"in {time.monotonic() - started:.1f} s"
    )
    secrets = _build_agents(agents, list(CATEGORIES[:categories]), say)
    return Workspace(
        leaf_keys=leaf_keys, agent_secrets=secrets, topics=topics, release_number=release.number
    )


def context_for(rng, topic, words=10):
    """A task context for a skill: mostly its topic words, some words from elsewhere."""
    chosen = [rng.choice(topic) if rng.random() < 0.7 else rng.choice(NOUNS) for _ in range(words)]
    return " ".join(chosen)


def _build_skills(categories, per_category, say):
    started = time.monotonic()
    if categories > len(CATEGORIES):
        raise ValueError(f"at most {len(CATEGORIES)} categories")
    roots = Skill.objects.bulk_create(
        Skill(key=name, name=name.title(), kind=Skill.Kind.CATEGORY, depth=0)
        for name in CATEGORIES[:categories]
    )
    leaves = Skill.objects.bulk_create(
        Skill(
            key=f"{root.key}.{NOUNS[index % len(NOUNS)]}_{index:02d}",
            name=f"{NOUNS[index % len(NOUNS)].title()} {index}",
            kind=Skill.Kind.SKILL,
            parent=root,
            depth=1,
        )
        for root in roots
        for index in range(per_category)
    )
    say(
        f"  {len(roots) + len(leaves):,} skills ({len(roots)} categories x {per_category}) "
        f"in {time.monotonic() - started:.1f} s"
    )
    return [leaf.key for leaf in leaves]


def _topic(rng):
    return (
        rng.sample(NOUNS, 8)
        + rng.sample(ADJECTIVES, 3)
        + rng.sample(TOOLS, 2)
        + [rng.choice(VERBS)]
    )


def _sentence(rng, templates, topic):
    nouns = [word for word in topic if word in NOUNS]
    adjectives = [word for word in topic if word in ADJECTIVES]
    tools = [word for word in topic if word in TOOLS]

    def pick(own, everything):
        return rng.choice(own) if own and rng.random() < 0.6 else rng.choice(everything)

    return rng.choice(templates).format(
        subject=rng.choice(SUBJECTS),
        verb=pick([], VERBS).replace("-", " "),
        noun=pick(nouns, NOUNS),
        noun2=pick(nouns, NOUNS),
        adj=pick(adjectives, ADJECTIVES),
        tool=pick(tools, TOOLS),
        check=rng.choice(CHECKS),
        source=rng.choice(SOURCES),
    )


def _build_strategies(leaf_keys, topics, per_skill, rng, say):
    started = time.monotonic()
    skill_ids = dict(Skill.objects.filter(key__in=leaf_keys).values_list("key", "id"))
    strategies = []
    for key in leaf_keys:
        for _ in range(per_skill):
            helpful, harmful = rng.randint(0, 30), rng.randint(0, 8)
            strategies.append(
                Strategy(
                    skill_id=skill_ids[key],
                    status=Strategy.Status.LIVE,
                    origin=Strategy.Origin.COACH,
                    helpful_count=helpful,
                    harmful_count=harmful,
                    use_count=helpful + harmful + rng.randint(0, 20),
                    support_count=rng.randint(1, 5),
                )
            )
    Strategy.objects.bulk_create(strategies, batch_size=2_000)
    say(f"  {len(strategies):,} strategies in {time.monotonic() - started:.1f} s")

    started = time.monotonic()
    skill_key_of = {skill_id: key for key, skill_id in skill_ids.items()}
    versions = []
    for strategy in strategies:
        topic = topics[skill_key_of[strategy.skill_id]]
        versions.append(
            StrategyVersion(
                strategy=strategy,
                number=1,
                when_text=_sentence(rng, WHEN_TEMPLATES, topic),
                do_text=_sentence(rng, DO_TEMPLATES, topic),
                because_text=_sentence(rng, BECAUSE_TEMPLATES, topic),
                source=StrategyVersion.Source.COACH,
            )
        )
    StrategyVersion.objects.bulk_create(versions, batch_size=2_000)
    Strategy.objects.filter(current_version__isnull=True).update(
        current_version=Subquery(
            StrategyVersion.objects.filter(strategy=OuterRef("pk"), number=1).values("pk")[:1]
        )
    )
    say(f"  {len(versions):,} strategy versions in {time.monotonic() - started:.1f} s")


def _build_agents(count, boundary_keys, say):
    started = time.monotonic()
    secrets = []
    for index in range(count):
        agent = create_agent(
            name=f"bench-agent-{index:02d}",
            description="Benchmark agent",
            boundaries=boundary_keys,
            simulated=True,
        )
        secrets.append(issue_key(agent, label="benchmark").secret)
    say(
        f"  {count} agents with a key and {len(boundary_keys)} boundaries each "
        f"in {time.monotonic() - started:.1f} s"
    )
    return secrets
