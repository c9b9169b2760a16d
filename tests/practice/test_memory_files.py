"""Practice memory as files: deterministic exports, imports into proposals, refusals."""

from pathlib import Path

import pytest
import yaml
from django.core.management import CommandError, call_command

from oversight.models import AuditEvent
from practice.memory_files import (
    MemoryFileError,
    StrategyFile,
    parse_strategy,
    render_strategy,
)
from practice.models import Strategy, StrategyEvidence, StrategyFeedback
from practice.services.strategies import change_status, propose_strategy, publish_release
from tests.factories import AgentFactory, AttemptFactory, SkillFactory, UserFactory

pytestmark = pytest.mark.django_db


@pytest.fixture(autouse=True)
def _fast_passwords(settings):
    settings.PASSWORD_HASHERS = ["django.contrib.auth.hashers.MD5PasswordHasher"]


ORDERS = {
    "when": "when the customer gives two order numbers",
    "do": "ask which order the request is about before calling lookup_order",
    "because": "acting on the wrong order changes someone else's purchase",
}
REFUNDS = {
    "when": "when a refund exceeds the order total",
    "do": "stop and ask a person to approve the refund",
    "because": "a refund above the total is always a mistake",
}


def live(key, texts, evidence=()):
    strategy = propose_strategy(skill=SkillFactory(key=key), **texts)
    for attempt in evidence:
        StrategyEvidence.objects.create(strategy=strategy, attempt=attempt)
    return change_status(strategy, "live", reason="approved")


@pytest.fixture
def release():
    agent = AgentFactory(name="support-bot")
    attempts = [AttemptFactory(agent=agent), AttemptFactory(agent=agent)]
    orders = live("tools.orders", ORDERS, evidence=reversed(attempts))
    StrategyFeedback.objects.create(strategy=orders, agent=agent, verdict="helpful")
    live("tools.refunds", {**REFUNDS, "when": "when a refund\r\n## Do exceeds the total  "})
    return publish_release(actor=UserFactory(username="olga"), note="first | release")


def export(directory, *options):
    call_command("export_memory", str(directory), *options)
    return {
        path.relative_to(directory).as_posix(): path.read_bytes()
        for path in sorted(directory.rglob("*"))
        if path.is_file()
    }


def test_two_exports_of_a_release_are_byte_identical(tmp_path, release):
    first = export(tmp_path / "a")
    # Later activity moves the live counters, not the release's files.
    orders = Strategy.objects.get(skill__key="tools.orders")
    StrategyFeedback.objects.create(strategy=orders, agent=AgentFactory(), verdict="harmful")
    publish_release(note="second")
    second = export(tmp_path / "b", "--release", "1")

    assert first == second
    assert sorted(first) == [
        "index.md",
        f"strategies/tools.orders/strategy-{orders.pk}.md",
        f"strategies/tools.refunds/strategy-{Strategy.objects.get(skill__key='tools.refunds').pk}.md",
    ]
    assert all(b"\r" not in content for content in first.values())


def test_a_strategy_file_holds_front_matter_and_the_three_sections(tmp_path, release):
    orders = Strategy.objects.get(skill__key="tools.orders")
    files = export(tmp_path / "memory")
    text = files[f"strategies/tools.orders/strategy-{orders.pk}.md"].decode()

    front_matter = yaml.safe_load(text.split("---\n")[1])
    evidence = sorted(orders.evidence_links.values_list("attempt_id", flat=True))
    assert front_matter == {
        "id": orders.pk,
        "version": 1,
        "skill": "tools.orders",
        "status": "live",
        "counters": {"harmful": 0, "helpful": 1, "support": 2, "uses": 0},
        "evidence_attempts": evidence,
    }
    assert text.endswith(
        f"## When\n\n{ORDERS['when']}\n\n## Do\n\n{ORDERS['do']}\n\n## Because\n\n"
        f"{ORDERS['because']}\n"
    )
    index = files["index.md"].decode()
    assert "# Practice memory, release 1" in index
    assert f"- Published: {release.created_at.isoformat()}" in index
    assert "- By: olga" in index and "- Note: first \\| release" in index
    assert f"[#{orders.pk}](strategies/tools.orders/strategy-{orders.pk}.md)" in index


def test_rendering_and_parsing_round_trip_awkward_text():
    strategy = StrategyFile(
        id=7,
        version=2,
        skill="support.tone",
        status="live",
        counters={"helpful": 1},
        evidence_attempts=[3],
        when="when the customer writes\n## Do this\nin capitals",
        do="\\## keep the backslash\n# not a title",
        because="ünïcode — stays",
    )
    parsed = parse_strategy(render_strategy(strategy), "x.md")
    assert (parsed.skill, parsed.when, parsed.do, parsed.because, parsed.source_id) == (
        "support.tone",
        strategy.when,
        strategy.do,
        strategy.because,
        7,
    )


def test_export_replaces_an_earlier_export_but_refuses_other_folders(tmp_path, release):
    target = tmp_path / "memory"
    export(target)
    (target / "strategies" / "tools.gone").mkdir()
    (target / "strategies" / "tools.gone" / "strategy-99.md").write_text("old")
    (target / "README.md").write_text("our notes")

    files = export(target)

    assert "strategies/tools.gone/strategy-99.md" not in files
    assert files["README.md"] == b"our notes"
    other = tmp_path / "other"
    other.mkdir()
    (other / "thesis.txt").write_text("precious")
    with pytest.raises(CommandError, match="not empty and holds no earlier memory export"):
        call_command("export_memory", str(other))
    assert (other / "thesis.txt").read_text() == "precious"


def test_export_needs_a_release(tmp_path):
    with pytest.raises(CommandError, match="No memory release"):
        call_command("export_memory", str(tmp_path / "m"))
    with pytest.raises(CommandError, match="There is no release 4"):
        call_command("export_memory", str(tmp_path / "m"), "--release", "4")


# --- Import ---------------------------------------------------------------------------------------------


def test_import_round_trips_into_proposals_never_live(tmp_path, release, capsys):
    export(tmp_path / "memory")
    for strategy in Strategy.objects.all():
        change_status(strategy, "retired", reason="starting over")
    before = AuditEvent.objects.count()
    reviewer = UserFactory(username="rita")

    call_command("import_memory", str(tmp_path / "memory"), "--user", "rita")

    imported = Strategy.objects.filter(origin=Strategy.Origin.PERSON).order_by("skill__key")
    assert [s.skill.key for s in imported] == ["tools.orders", "tools.refunds"]
    orders = imported[0]
    assert orders.status == Strategy.Status.PROPOSED
    version = orders.current_version
    assert (version.when_text, version.do_text, version.because_text) == tuple(ORDERS.values())
    assert version.created_by == reviewer
    assert imported[1].current_version.when_text == "when a refund\n## Do exceeds the total"
    events = AuditEvent.objects.filter(sequence__gt=before)
    assert {(e.action, e.actor_label) for e in events} == {("strategy.proposed", "rita")}
    assert "2 proposed for review, 0 filtered by the quality gate, 0 skipped" in (
        capsys.readouterr().out
    )


def test_import_skips_strategies_already_proposed_or_live(tmp_path, release, capsys):
    directory = tmp_path / "memory"
    export(directory)
    orders_file = next((directory / "strategies" / "tools.orders").glob("*.md"))
    text = orders_file.read_text()
    (directory / "strategies" / "tools.orders" / "copy.md").write_text(text)
    orders_file.write_text(text.replace("before calling lookup_order", "then call lookup_order"))
    existing = set(Strategy.objects.values_list("pk", flat=True))

    call_command("import_memory", str(directory))

    new = Strategy.objects.exclude(pk__in=existing).get()
    assert (
        new.current_version.do_text == "ask which order the request is about then call lookup_order"
    )
    assert new.status == Strategy.Status.PROPOSED
    output = capsys.readouterr().out
    assert "skipped   strategies/tools.orders/copy.md: the same as live strategy" in output
    assert "skipped   strategies/tools.refunds/" in output
    assert "1 proposed for review, 0 filtered by the quality gate, 2 skipped" in output
    assert AuditEvent.objects.filter(action="strategy.proposed").last().actor_label == (
        "import_memory"
    )


def test_vague_strategies_are_imported_as_filtered(tmp_path, release):
    directory = tmp_path / "memory"
    write_strategy(directory, "vague.md", skill="tools.orders", do="be careful")

    call_command("import_memory", str(directory))

    vague = Strategy.objects.get(current_version__do_text="be careful")
    assert vague.status == Strategy.Status.FILTERED
    assert vague.filtered_reason


def write_strategy(directory, name, *, skill="tools.orders", front_matter=None, **texts):
    texts = {**ORDERS, **texts}
    meta = front_matter if front_matter is not None else f"skill: {skill}\n"
    path = Path(directory) / "strategies" / name
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        f"---\n{meta}---\n\n## When\n\n{texts['when']}\n\n## Do\n\n{texts['do']}\n\n"
        f"## Because\n\n{texts['because']}\n",
        encoding="utf-8",
    )
    return path


@pytest.mark.parametrize(
    ("name", "content", "reason"),
    [
        ("no-front-matter.md", "## When\n\nwhen x\n", "does not start with YAML front matter"),
        ("bad-yaml.md", "---\nskill: [unclosed\n---\n", "not valid YAML"),
        ("typo.md", "---\nskil: tools.orders\n---\n", "unknown front matter key skil"),
        (
            "no-do.md",
            "---\nskill: tools.orders\n---\n## When\n\nw\n\n## Because\n\nb\n",
            "found: When, Because",
        ),
        (
            "empty.md",
            "---\nskill: tools.orders\n---\n## When\n\n## Do\n\nd\n## Because\n\nb\n",
            "## When is empty",
        ),
        ("bad-id.md", "---\nskill: tools.orders\nid: seven\n---\n", "id must be a whole number"),
    ],
)
def test_a_malformed_file_refuses_the_whole_folder(tmp_path, release, name, content, reason):
    directory = tmp_path / "memory"
    write_strategy(directory, "good.md", do="ask for the order number before any lookup")
    (directory / "strategies" / name).write_text(content, encoding="utf-8")
    strategies, events = Strategy.objects.count(), AuditEvent.objects.count()

    with pytest.raises(CommandError, match="nothing was written") as raised:
        call_command("import_memory", str(directory))

    assert f"strategies/{name}: " in str(raised.value)
    assert reason in str(raised.value)
    assert (Strategy.objects.count(), AuditEvent.objects.count()) == (strategies, events)


def test_an_unknown_skill_refuses_the_whole_folder(tmp_path, release):
    directory = tmp_path / "memory"
    write_strategy(directory, "good.md", do="ask for the order number before any lookup")
    write_strategy(directory, "elsewhere.md", skill="billing.invoices")
    strategies = Strategy.objects.count()

    with pytest.raises(
        CommandError, match="elsewhere.md: the skill billing.invoices does not exist"
    ):
        call_command("import_memory", str(directory))
    assert Strategy.objects.count() == strategies


def test_a_folder_without_strategies_is_refused(tmp_path):
    (tmp_path / "memory").mkdir()
    with pytest.raises(CommandError, match="no strategies/ folder"):
        call_command("import_memory", str(tmp_path / "memory"))


def test_parse_errors_name_the_file():
    with pytest.raises(MemoryFileError, match="^here.md: "):
        parse_strategy("no front matter", "here.md")
