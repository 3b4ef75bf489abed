"""Summary rollups for the regional heads' dashboard, kept current by triggers on report and report_event.

The dashboard (apoa/summaries) answers, for a period and a jurisdiction: how many reports were
received, screened and closed (by outcome), how long screening and closure took (medians), which
share was handled within its due time, broken down by kabupaten/kota, office, category and
channel, week by week; and how many are open and overdue now. At a million reports the same
GROUP BY over report and report_event takes seconds (the history has to be walked), so these
tables hold the answers in advance.

What a report contributes (its "facts", view summary_report_facts, one definition used by the
triggers, by summary_rebuild() and by the tests' and the benchmark's raw GROUP BY):
- received on the local day (Asia/Jakarta) of report.created_at;
- screened on the local day it first left `new` (the first event whose from_state is `new`:
  screening or marking a duplicate straight away; a later transfer and re-screening does not
  move it); time to screening = that moment − created_at;
- closed on the local day of its last entry into `closed`, with its outcome, while it is still
  closed (a reopened report leaves the closed count of its old day; closing it again counts on
  the new day); time to closure = that moment − created_at;
- within due time: each step of its history (the time between two events) ended by the due time
  set when the step began, exactly as apply() sets report.due_at: the due typed at assignment
  (kept in the assign event's detail) or the state's allowance in working days (apoa/reports/
  sla.py, frozen below as SLA_WORKING_DAYS; a test holds them equal). "Screened on time": the
  first screening step was not late; "closed on time": no step up to the closure was late;
- open now: its state (unless closed), assignee and the local day of its due time.

Tables:
- summary_report: each report's facts as last counted (one row per report). A trigger recomputes
  a report's facts from the view when the report or its history changes, and when they differ it
  takes the old contribution out of the rollups and puts the new one in: the rollups never drift,
  whatever changed (a transfer, a reopen, a new category, a deleted report).
- summary_flow: the counts by (grain, period_start, dimension, office, member): grain 'd' for a
  local day, 'w' for the week starting that Monday. Each report is counted once per dimension:
  'kab' (member_id = kab_id), 'category' (member_id = category_id), 'channel' (member_code =
  channel) — three narrow tables in one rather than one cube of day × kab × category × channel,
  which at a million reports would hold about one row per report and save nothing. Every report
  is in one row of each dimension, so totals and the office breakdown can be summed from any
  of them (the readers take the 'kab' rows, or the 'channel' rows, the fewest). A period is read
  as its whole weeks from the 'w' rows and each ragged end of up to 3 days from its 'd' rows
  (of 4 to 6 days: the whole week less the 'd' rows of its other days), so 90 days read 13 weeks
  and at most 6 days of rows. Measures: received, screened, screened_on_time, closed,
  closed_on_time, closed per outcome, and the durations as histograms (screen_h0..13, close_h0..13
  over DURATION_EDGES_HOURS) from which medians are estimated by interpolation within the bucket.
- summary_open: open reports now by (dimension, office, member, state), dimensions 'kab',
  'category', 'channel' and 'assignee' (member_id = assignee_id, for assigned reports only);
- summary_due: the same open reports by (dimension, office, member, due_day). Being overdue changes
  with the clock, not with a write, so it is counted by subtraction: overdue now = open − those
  due after today or without a due time (rows from today on: a few days' worth, on the due_day
  index) − those due later today (read from report, on its due_at index). The rows of past days
  are written, never read.
A period's rows are read by the key's (grain, period_start) prefix; they lie together in the
table because they are written together (a day's rows during that day, or in key order by
summary_rebuild()), and the fillfactor leaves room in each page for updates to stay there (HOT).
Rows whose counts fall to zero are deleted, so every rollup row equals the same GROUP BY over the
facts (tests/summaries/test_rollups.py). On an update the old contribution is taken out before
the new one is put in only when the old key sorts first, as for report_grid, so two transactions
moving reports between the same rows in opposite directions lock them in the same order.

`summary_rebuild()` recomputes everything from the reports (after bulk loads with the triggers
disabled).

Revision ID: 0007
Revises: 0006
Create Date: 2026-11-23
"""
from alembic import op

revision = "0007"
down_revision = "0006"
branch_labels = None
depends_on = None

TIME_ZONE = "Asia/Jakarta"
# apoa.reports.sla.WORKING_DAYS, frozen (a test holds them equal).
SLA_WORKING_DAYS = {"new": 1, "screening": 1, "assigned": 3, "in_field": 3, "pending_approval": 2}
# Upper edges of the duration buckets, in hours (apoa.summaries.rollups.DURATION_EDGES_HOURS).
DURATION_EDGES_HOURS = (1, 2, 4, 8, 12, 24, 48, 72, 120, 168, 336, 720, 1440)
BUCKETS = len(DURATION_EDGES_HOURS) + 1
OUTCOMES = ("violation_found", "compliant", "not_found", "unfounded", "duplicate", "out_of_scope")

SCREEN_H = [f"screen_h{b}" for b in range(BUCKETS)]
CLOSE_H = [f"close_h{b}" for b in range(BUCKETS)]
CLOSED_BY = [f"closed_{o}" for o in OUTCOMES]
MEASURES = ["received", "screened", "screened_on_time", "closed", "closed_on_time", *CLOSED_BY, *SCREEN_H, *CLOSE_H]
FLOW_KEY = ["grain", "period_start", "dimension", "office_id", "member_id", "member_code"]
OPEN_KEY = ["dimension", "office_id", "member_id", "member_code", "state"]
DUE_KEY = ["dimension", "office_id", "member_id", "member_code", "due_day"]
FACT_COLUMNS = ["report_id", "office_id", "kab_id", "category_id", "channel", "state", "assignee_id", "due_day",
                "received_day", "screened_day", "screen_bucket", "screened_on_time", "closed_day", "outcome",
                "close_bucket", "closed_on_time"]


def local_day(column):
    return f"({column} AT TIME ZONE '{TIME_ZONE}')::date"


def upgrade():
    create_tables()
    create_helpers()
    create_facts_view()
    create_flow_facts_view()
    create_adders()
    create_refresh_and_triggers()
    create_rebuild()
    op.execute("SELECT summary_rebuild()")


def create_tables():
    measures = ",\n".join(f"{m} integer NOT NULL DEFAULT 0" for m in MEASURES)
    op.execute(f"""
        CREATE TABLE summary_flow (
            grain varchar(1) NOT NULL,
            period_start date NOT NULL,
            dimension varchar(10) NOT NULL,
            office_id integer,
            member_id integer,
            member_code varchar(20),
            {measures},
            CONSTRAINT uq_summary_flow_key UNIQUE NULLS NOT DISTINCT ({", ".join(FLOW_KEY)}),
            CONSTRAINT ck_summary_flow_grain_known CHECK (grain IN ('d', 'w'))
        ) WITH (fillfactor = 80)
    """)
    op.execute("""
        CREATE TABLE summary_open (
            dimension varchar(10) NOT NULL,
            office_id integer,
            member_id integer,
            member_code varchar(20),
            state varchar(20) NOT NULL,
            reports integer NOT NULL,
            CONSTRAINT uq_summary_open_key UNIQUE NULLS NOT DISTINCT
                (dimension, office_id, member_id, member_code, state)
        )
    """)
    op.execute("""
        CREATE TABLE summary_due (
            dimension varchar(10) NOT NULL,
            office_id integer,
            member_id integer,
            member_code varchar(20),
            due_day date,
            reports integer NOT NULL,
            CONSTRAINT uq_summary_due_key UNIQUE NULLS NOT DISTINCT
                (dimension, office_id, member_id, member_code, due_day)
        )
    """)
    # Only the rows due from today on are ever read (what is not overdue yet): a few days' worth.
    op.execute("CREATE INDEX ix_summary_due_due_day ON summary_due (due_day)")
    op.execute("""
        CREATE TABLE summary_report (
            report_id integer PRIMARY KEY,
            office_id integer,
            kab_id integer,
            category_id integer NOT NULL,
            channel varchar(20) NOT NULL,
            state varchar(20) NOT NULL,
            assignee_id integer,
            due_day date,
            received_day date NOT NULL,
            screened_day date,
            screen_bucket smallint,
            screened_on_time boolean,
            closed_day date,
            outcome varchar(20),
            close_bucket smallint,
            closed_on_time boolean
        )
    """)


def create_helpers():
    # add_working_days() of apoa/reports/sla.py in closed form: n working days from a weekday wd
    # (Monday 0, counted in UTC as Python does) take n + 2 per weekend crossed; from a Saturday or
    # Sunday, one or two days fewer than from the Friday before.
    wd = "(extract(isodow FROM at AT TIME ZONE 'UTC')::integer - 1)"
    op.execute(f"""
        CREATE FUNCTION summary_add_working_days(at timestamptz, n integer) RETURNS timestamptz
        LANGUAGE sql IMMUTABLE AS $$
            SELECT ((at AT TIME ZONE 'UTC')
                    + make_interval(days => n + 2 * ((least({wd}, 4) + n) / 5) - ({wd} - least({wd}, 4))))
                   AT TIME ZONE 'UTC'
        $$
    """)
    cases = " ".join(f"WHEN '{state}' THEN {days}" for state, days in SLA_WORKING_DAYS.items())
    op.execute(f"""
        CREATE FUNCTION summary_step_deadline(state varchar, began timestamptz, detail jsonb) RETURNS timestamptz
        LANGUAGE sql STABLE AS $$
            SELECT coalesce((detail ->> 'due')::timestamptz,
                            summary_add_working_days(began, CASE state {cases} END))
        $$
    """)
    edges = ", ".join(str(e) for e in DURATION_EDGES_HOURS)
    op.execute(f"""
        CREATE FUNCTION summary_duration_bucket(took interval) RETURNS smallint
        LANGUAGE sql IMMUTABLE AS $$
            SELECT width_bucket(extract(epoch FROM took) / 3600.0, ARRAY[{edges}]::float8[])::smallint
        $$
    """)


def create_facts_view():
    # Steps in the order they happened (by event id); each ends the step the previous event began,
    # and is late if it came after that step's due time. A filter on report_id reaches the events'
    # index through the window's partition, so the trigger reads one report's history only.
    op.execute(f"""
        CREATE VIEW summary_report_facts AS
        WITH steps AS (
            SELECT e.report_id, e.id, e.from_state, e.to_state, e.created_at,
                   e.created_at > lag(summary_step_deadline(e.to_state, e.created_at, e.detail))
                                  OVER (PARTITION BY e.report_id ORDER BY e.id) AS late
            FROM report_event e
        ), milestones AS (
            SELECT report_id,
                   min(created_at) FILTER (WHERE from_state = 'new') AS screened_at,
                   (array_agg(late ORDER BY id) FILTER (WHERE from_state = 'new'))[1] AS screen_late,
                   max(created_at) FILTER (WHERE to_state = 'closed') AS closed_at,
                   coalesce(bool_or(late), false) AS any_late
            FROM steps GROUP BY report_id
        )
        SELECT r.id AS report_id, r.office_id, r.kab_id, r.category_id, r.channel, r.state, r.assignee_id,
               CASE WHEN r.state <> 'closed' THEN {local_day('r.due_at')} END AS due_day,
               {local_day('r.created_at')} AS received_day,
               {local_day('m.screened_at')} AS screened_day,
               summary_duration_bucket(m.screened_at - r.created_at) AS screen_bucket,
               CASE WHEN m.screened_at IS NOT NULL THEN NOT coalesce(m.screen_late, false) END AS screened_on_time,
               closed.day AS closed_day,
               CASE WHEN closed.day IS NOT NULL THEN r.outcome END AS outcome,
               CASE WHEN closed.day IS NOT NULL THEN summary_duration_bucket(m.closed_at - r.created_at) END
                   AS close_bucket,
               CASE WHEN closed.day IS NOT NULL THEN NOT m.any_late END AS closed_on_time
        FROM report r
        LEFT JOIN milestones m ON m.report_id = r.id
        CROSS JOIN LATERAL (SELECT CASE WHEN r.state = 'closed' THEN {local_day('m.closed_at')} END AS day) closed
    """)


def flow_parts(facts):
    """Each report's contribution to summary_flow from the relation `facts` (rows shaped like
    summary_report): one row per part (received, screened, closed) and dimension, by local day."""
    def part(day, received, screened, closed):
        histograms = ", ".join(
            [f"CASE WHEN f.screen_bucket = {b} THEN {screened} ELSE 0 END" for b in range(BUCKETS)]
            + [f"CASE WHEN f.close_bucket = {b} THEN {closed} ELSE 0 END" for b in range(BUCKETS)])
        by_outcome = ", ".join(f"CASE WHEN f.outcome = '{o}' THEN {closed} ELSE 0 END" for o in OUTCOMES)
        return f"""
            SELECT f.report_id, {day} AS day, d.dimension, f.office_id, d.member_id, d.member_code,
                   {received}, {screened}, CASE WHEN f.screened_on_time THEN {screened} ELSE 0 END,
                   {closed}, CASE WHEN f.closed_on_time THEN {closed} ELSE 0 END, {by_outcome}, {histograms}
            FROM {facts} f
            CROSS JOIN LATERAL (VALUES ('kab', f.kab_id, NULL::varchar), ('category', f.category_id, NULL),
                                       ('channel', NULL::integer, f.channel)) d(dimension, member_id, member_code)
            WHERE {day} IS NOT NULL"""
    return "\nUNION ALL\n".join([part("f.received_day", 1, 0, 0), part("f.screened_day", 0, 1, 0),
                                  part("f.closed_day", 0, 0, 1)])


def create_flow_facts_view():
    """summary_flow_facts: what the rollup sums, for a raw GROUP BY to sum instead. The facts are
    computed once per query (MATERIALIZED), not once per part."""
    columns = ", ".join(["report_id", "day", "dimension", "office_id", "member_id", "member_code", *MEASURES])
    op.execute(f"""
        CREATE VIEW summary_flow_facts ({columns}) AS
        WITH facts AS MATERIALIZED (SELECT * FROM summary_report_facts)
        {flow_parts("facts")}
    """)


def create_adders():
    """summary_flow_add(facts, day, received, screened, closed) and summary_open_add(facts, delta): one
    part of a report's contribution added (+1) or taken out (-1), in every dimension (and grain).
    Rows left at zero are deleted by the address the upsert returned (no search for them)."""
    sums = ", ".join(f"{m} = f.{m} + EXCLUDED.{m}" for m in MEASURES)
    columns = ", ".join(MEASURES)
    outcome_values = ", ".join(f"CASE WHEN p.outcome = '{o}' THEN p_closed ELSE 0 END" for o in OUTCOMES)
    histograms = ", ".join(
        [f"CASE WHEN p.screen_bucket = {b} THEN p_screened ELSE 0 END" for b in range(BUCKETS)]
        + [f"CASE WHEN p.close_bucket = {b} THEN p_closed ELSE 0 END" for b in range(BUCKETS)])
    op.execute(f"""
        CREATE FUNCTION summary_flow_add(p summary_report, p_day date, p_received integer, p_screened integer,
                                         p_closed integer) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
            emptied tid[];
        BEGIN
            WITH up AS (
                INSERT INTO summary_flow AS f (grain, period_start, dimension, office_id, member_id, member_code,
                                               {columns})
                SELECT g.grain, g.start, d.dimension, p.office_id, d.member_id, d.member_code,
                       p_received, p_screened, CASE WHEN p.screened_on_time THEN p_screened ELSE 0 END,
                       p_closed, CASE WHEN p.closed_on_time THEN p_closed ELSE 0 END, {outcome_values}, {histograms}
                FROM (VALUES ('d', p_day), ('w', date_trunc('week', p_day)::date)) g(grain, start),
                     (VALUES ('kab', p.kab_id, NULL::varchar), ('category', p.category_id, NULL),
                             ('channel', NULL::integer, p.channel)) d(dimension, member_id, member_code)
                ON CONFLICT ON CONSTRAINT uq_summary_flow_key DO UPDATE SET {sums}
                RETURNING f.ctid AS row_address, f.received + f.screened + f.closed AS left_over
            )
            SELECT array_agg(row_address) FILTER (WHERE left_over = 0) INTO emptied FROM up;
            IF emptied IS NOT NULL THEN
                DELETE FROM summary_flow WHERE ctid = ANY (emptied);
            END IF;
        END
        $$
    """)
    for table, key, column in (("summary_open", OPEN_KEY, "p.state"), ("summary_due", DUE_KEY, "p.due_day")):
        op.execute(f"""
            CREATE FUNCTION {table}_add(p summary_report, delta integer) RETURNS void
            LANGUAGE plpgsql AS $$
            DECLARE
                emptied tid[];
            BEGIN
                WITH up AS (
                    INSERT INTO {table} AS o ({", ".join(key)}, reports)
                    SELECT d.dimension, p.office_id, d.member_id, d.member_code, {column}, delta
                    FROM (VALUES ('kab', p.kab_id, NULL::varchar), ('category', p.category_id, NULL),
                                 ('channel', NULL::integer, p.channel), ('assignee', p.assignee_id, NULL))
                         d(dimension, member_id, member_code)
                    WHERE d.dimension <> 'assignee' OR p.assignee_id IS NOT NULL
                    ON CONFLICT ON CONSTRAINT uq_{table}_key DO UPDATE SET reports = o.reports + EXCLUDED.reports
                    RETURNING o.ctid AS row_address, o.reports AS left_over
                )
                SELECT array_agg(row_address) FILTER (WHERE left_over = 0) INTO emptied FROM up;
                IF emptied IS NOT NULL THEN
                    DELETE FROM {table} WHERE ctid = ANY (emptied);
                END IF;
            END
            $$
        """)


def create_refresh_and_triggers():
    fact_columns = ", ".join(FACT_COLUMNS)
    # summary_take(a, b, same_dims, sign): the parts of contribution `a` that differ from `b`,
    # added with `sign`. Taking out the old facts' differing parts and adding the new facts'
    # differing parts moves exactly what changed.
    op.execute("""
        CREATE FUNCTION summary_take(a summary_report, b summary_report, same_dims boolean, sign integer)
        RETURNS void LANGUAGE plpgsql AS $$
        BEGIN
            IF a.report_id IS NULL THEN
                RETURN;
            END IF;
            IF NOT (same_dims AND a.received_day IS NOT DISTINCT FROM b.received_day) THEN
                PERFORM summary_flow_add(a, a.received_day, sign, 0, 0);
            END IF;
            IF a.screened_day IS NOT NULL AND NOT (same_dims AND (a.screened_day, a.screen_bucket, a.screened_on_time)
                    IS NOT DISTINCT FROM (b.screened_day, b.screen_bucket, b.screened_on_time)) THEN
                PERFORM summary_flow_add(a, a.screened_day, 0, sign, 0);
            END IF;
            IF a.closed_day IS NOT NULL AND NOT (same_dims
                    AND (a.closed_day, a.outcome, a.close_bucket, a.closed_on_time)
                    IS NOT DISTINCT FROM (b.closed_day, b.outcome, b.close_bucket, b.closed_on_time)) THEN
                PERFORM summary_flow_add(a, a.closed_day, 0, 0, sign);
            END IF;
            IF a.state <> 'closed' AND NOT (same_dims AND b.state <> 'closed' AND (a.state, a.assignee_id)
                    IS NOT DISTINCT FROM (b.state, b.assignee_id)) THEN
                PERFORM summary_open_add(a, sign);
            END IF;
            IF a.state <> 'closed' AND NOT (same_dims AND b.state <> 'closed' AND (a.due_day, a.assignee_id)
                    IS NOT DISTINCT FROM (b.due_day, b.assignee_id)) THEN
                PERFORM summary_due_add(a, sign);
            END IF;
        END
        $$
    """)
    op.execute("""
        CREATE FUNCTION summary_move(o summary_report, n summary_report) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
            same_dims boolean := (o.office_id, o.kab_id, o.category_id, o.channel)
                                 IS NOT DISTINCT FROM (n.office_id, n.kab_id, n.category_id, n.channel);
            old_first boolean := n.report_id IS NULL OR
                                 (coalesce(o.office_id, 0), coalesce(o.kab_id, 0), coalesce(o.category_id, 0))
                                 <= (coalesce(n.office_id, 0), coalesce(n.kab_id, 0), n.category_id);
        BEGIN
            IF old_first THEN
                PERFORM summary_take(o, n, same_dims, -1);
                PERFORM summary_take(n, o, same_dims, 1);
            ELSE
                PERFORM summary_take(n, o, same_dims, 1);
                PERFORM summary_take(o, n, same_dims, -1);
            END IF;
        END
        $$
    """)
    op.execute(f"""
        CREATE FUNCTION summary_refresh(rid integer) RETURNS void
        LANGUAGE plpgsql AS $$
        DECLARE
            o summary_report;
            n summary_report;
        BEGIN
            SELECT * INTO o FROM summary_report WHERE report_id = rid FOR UPDATE;
            SELECT {fact_columns} INTO n FROM summary_report_facts WHERE report_id = rid;
            IF o IS NOT DISTINCT FROM n THEN
                RETURN;
            END IF;
            PERFORM summary_move(o, n);
            IF n.report_id IS NULL THEN
                DELETE FROM summary_report WHERE report_id = rid;
            ELSIF o.report_id IS NULL THEN
                INSERT INTO summary_report SELECT n.*;
            ELSE
                UPDATE summary_report SET ({fact_columns}) = (SELECT n.*) WHERE report_id = rid;
            END IF;
        END
        $$
    """)
    op.execute("""
        CREATE FUNCTION summary_track_report() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP = 'DELETE' THEN
                PERFORM summary_refresh(OLD.id);
            ELSE
                PERFORM summary_refresh(NEW.id);
            END IF;
            RETURN NULL;
        END
        $$
    """)
    op.execute("""
        CREATE FUNCTION summary_track_event() RETURNS trigger LANGUAGE plpgsql AS $$
        BEGIN
            IF TG_OP IN ('UPDATE', 'DELETE') THEN
                PERFORM summary_refresh(OLD.report_id);
            END IF;
            IF TG_OP IN ('INSERT', 'UPDATE') THEN
                PERFORM summary_refresh(NEW.report_id);
            END IF;
            RETURN NULL;
        END
        $$
    """)
    watched = ("office_id", "kab_id", "category_id", "channel", "state", "outcome", "assignee_id", "due_at",
               "created_at")
    changed = " OR ".join(f"OLD.{c} IS DISTINCT FROM NEW.{c}" for c in watched)
    op.execute("""
        CREATE TRIGGER summary_on_report_insert_delete AFTER INSERT OR DELETE ON report
        FOR EACH ROW EXECUTE FUNCTION summary_track_report()
    """)
    op.execute(f"""
        CREATE TRIGGER summary_on_report_update AFTER UPDATE OF {", ".join(watched)} ON report
        FOR EACH ROW WHEN ({changed}) EXECUTE FUNCTION summary_track_report()
    """)
    # The history is append-only, but a report's deletion cascades to it, and retention may one
    # day rewrite it: every change of an event recomputes its report.
    op.execute("""
        CREATE TRIGGER summary_on_event_change AFTER INSERT OR DELETE OR UPDATE OF report_id, from_state, to_state,
            created_at, detail ON report_event
        FOR EACH ROW EXECUTE FUNCTION summary_track_event()
    """)


def open_rebuild(table, key, column):
    return f"""
            INSERT INTO {table} ({", ".join(key)}, reports)
            SELECT d.dimension, s.office_id, d.member_id, d.member_code, {column}, count(*)
            FROM summary_report s
            CROSS JOIN LATERAL (VALUES ('kab', s.kab_id, NULL::varchar), ('category', s.category_id, NULL),
                                       ('channel', NULL::integer, s.channel), ('assignee', s.assignee_id, NULL))
                d(dimension, member_id, member_code)
            WHERE s.state <> 'closed' AND (d.dimension <> 'assignee' OR s.assignee_id IS NOT NULL)
            GROUP BY 1, 2, 3, 4, 5;"""


def create_rebuild():
    flow_columns = ", ".join(["report_id", "day", "dimension", "office_id", "member_id", "member_code", *MEASURES])
    measures = ", ".join(f"sum({m})" for m in MEASURES)
    columns = ", ".join(MEASURES)
    op.execute(f"""
        CREATE FUNCTION summary_rebuild() RETURNS void LANGUAGE sql AS $$
            TRUNCATE summary_report, summary_flow, summary_open, summary_due;
            INSERT INTO summary_report SELECT {", ".join(FACT_COLUMNS)} FROM summary_report_facts;
            INSERT INTO summary_flow (grain, period_start, dimension, office_id, member_id, member_code, {columns})
            SELECT g.grain, g.start, f.dimension, f.office_id, f.member_id, f.member_code, {measures}
            FROM ({flow_parts("summary_report")}) f ({flow_columns})
            CROSS JOIN LATERAL (VALUES ('d', f.day), ('w', date_trunc('week', f.day)::date)) g(grain, start)
            GROUP BY 1, 2, 3, 4, 5, 6
            ORDER BY 1, 2, 3, 4, 5, 6;
            {open_rebuild("summary_open", OPEN_KEY, "s.state")}
            {open_rebuild("summary_due", DUE_KEY, "s.due_day")}
        $$
    """)


def downgrade():
    op.execute("DROP TRIGGER summary_on_event_change ON report_event")
    op.execute("DROP TRIGGER summary_on_report_update ON report")
    op.execute("DROP TRIGGER summary_on_report_insert_delete ON report")
    op.execute("DROP FUNCTION summary_rebuild()")
    op.execute("DROP FUNCTION summary_track_event()")
    op.execute("DROP FUNCTION summary_track_report()")
    op.execute("DROP FUNCTION summary_refresh(integer)")
    op.execute("DROP FUNCTION summary_move(summary_report, summary_report)")
    op.execute("DROP FUNCTION summary_take(summary_report, summary_report, boolean, integer)")
    op.execute("DROP FUNCTION summary_due_add(summary_report, integer)")
    op.execute("DROP FUNCTION summary_open_add(summary_report, integer)")
    op.execute("DROP FUNCTION summary_flow_add(summary_report, date, integer, integer, integer)")
    op.execute("DROP VIEW summary_flow_facts")
    op.execute("DROP VIEW summary_report_facts")
    op.execute("DROP FUNCTION summary_duration_bucket(interval)")
    op.execute("DROP FUNCTION summary_step_deadline(varchar, timestamptz, jsonb)")
    op.execute("DROP FUNCTION summary_add_working_days(timestamptz, integer)")
    op.execute("DROP TABLE summary_report")
    op.execute("DROP TABLE summary_due")
    op.execute("DROP TABLE summary_open")
    op.execute("DROP TABLE summary_flow")
