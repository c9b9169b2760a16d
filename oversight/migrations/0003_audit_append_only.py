"""The database refuses to change or remove audit events, whatever the client.

PostgreSQL: row triggers refuse UPDATE and DELETE, a statement trigger refuses TRUNCATE.
SQLite: triggers refuse UPDATE and DELETE (SQLite has no TRUNCATE).
"""

from django.db import migrations

MESSAGE = "The audit log is append-only: %s on oversight_auditevent is refused."

POSTGRESQL_INSTALL = [
    """
    CREATE FUNCTION oversight_auditevent_refuse_change() RETURNS trigger
    LANGUAGE plpgsql AS $$
    BEGIN
        RAISE EXCEPTION 'The audit log is append-only: % on oversight_auditevent is refused.', TG_OP
            USING ERRCODE = 'restrict_violation',
                  HINT = 'Audit events are never changed or deleted; record a new event instead.';
    END
    $$
    """,
    """
    CREATE TRIGGER oversight_auditevent_append_only
    BEFORE UPDATE OR DELETE ON oversight_auditevent
    FOR EACH ROW EXECUTE FUNCTION oversight_auditevent_refuse_change()
    """,
    """
    CREATE TRIGGER oversight_auditevent_no_truncate
    BEFORE TRUNCATE ON oversight_auditevent
    FOR EACH STATEMENT EXECUTE FUNCTION oversight_auditevent_refuse_change()
    """,
]
POSTGRESQL_REMOVE = [
    "DROP TRIGGER IF EXISTS oversight_auditevent_no_truncate ON oversight_auditevent",
    "DROP TRIGGER IF EXISTS oversight_auditevent_append_only ON oversight_auditevent",
    "DROP FUNCTION IF EXISTS oversight_auditevent_refuse_change()",
]

SQLITE_INSTALL = [
    f"""
    CREATE TRIGGER oversight_auditevent_no_{operation.lower()}
    BEFORE {operation} ON oversight_auditevent
    BEGIN
        SELECT RAISE(ABORT, '{MESSAGE % operation}');
    END
    """
    for operation in ("UPDATE", "DELETE")
]
SQLITE_REMOVE = [
    "DROP TRIGGER IF EXISTS oversight_auditevent_no_update",
    "DROP TRIGGER IF EXISTS oversight_auditevent_no_delete",
]


def run(statements_by_vendor):
    def operation(apps, schema_editor):
        for statement in statements_by_vendor.get(schema_editor.connection.vendor, []):
            schema_editor.execute(statement, params=None)

    return operation


class Migration(migrations.Migration):
    dependencies = [
        ("oversight", "0002_reviewclaim"),
    ]

    operations = [
        migrations.RunPython(
            run({"postgresql": POSTGRESQL_INSTALL, "sqlite": SQLITE_INSTALL}),
            run({"postgresql": POSTGRESQL_REMOVE, "sqlite": SQLITE_REMOVE}),
        ),
    ]
