"""The store's schema as forward-only migrations. `PRAGMA user_version` = applied count.

Never edit a released migration: append a new one. Timestamps are UTC ISO 8601 text
(`2026-11-26T12:00:00.000000+00:00`), so they sort and compare as strings.
"""

# What a one-row INSERT into a feed table (calls, messages, replies, cases) gives
# `change_seq`: the next value of the feed counter, which the row's trigger then moves
# to (schema 14). Not for an INSERT of several rows (they would share one value).
NEXT_CHANGE = "(SELECT n + 1 FROM feed_seq)"

MIGRATIONS: tuple[str, ...] = (
    # 1: calls, outbox, attempts, opt-outs, replies
    """
    CREATE TABLE calls (
        id              INTEGER PRIMARY KEY,
        source          TEXT NOT NULL,
        pbx_call_id     TEXT NOT NULL,
        started_at      TEXT NOT NULL,
        ended_at        TEXT NOT NULL,
        received_at     TEXT NOT NULL,
        direction       TEXT NOT NULL,
        outcome         TEXT NOT NULL,
        caller_raw      TEXT NOT NULL DEFAULT '',
        caller_e164     TEXT,
        remote_e164     TEXT,
        caller_name     TEXT,
        dialed          TEXT,
        queue           TEXT,
        ivr_path        TEXT NOT NULL DEFAULT '',
        ring_seconds    REAL NOT NULL DEFAULT 0,
        ivr_seconds     REAL NOT NULL DEFAULT 0,
        queue_seconds   REAL NOT NULL DEFAULT 0,
        talk_seconds    REAL NOT NULL DEFAULT 0,
        answered_by     TEXT,
        extensions      TEXT NOT NULL DEFAULT '',
        department      TEXT,
        after_hours     INTEGER NOT NULL DEFAULT 0,
        decision        TEXT,
        recovered_at    TEXT,
        recovered_by    TEXT,
        UNIQUE (source, pbx_call_id)
    );
    CREATE INDEX calls_ended ON calls (ended_at);
    CREATE INDEX calls_remote ON calls (remote_e164, ended_at);

    CREATE TABLE messages (
        id              INTEGER PRIMARY KEY,
        call_id         INTEGER REFERENCES calls (id) ON DELETE SET NULL,
        to_e164         TEXT NOT NULL,
        department      TEXT NOT NULL,
        template        TEXT NOT NULL,
        language        TEXT NOT NULL,
        dedup_key       TEXT NOT NULL UNIQUE,
        state           TEXT NOT NULL,
        not_before      TEXT NOT NULL,
        expires_at      TEXT NOT NULL,
        attempts        INTEGER NOT NULL DEFAULT 0,
        interruptions   INTEGER NOT NULL DEFAULT 0,
        body            TEXT,
        sender          TEXT,
        provider_id     TEXT,
        last_error      TEXT,
        created_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        sent_at         TEXT
    );
    CREATE INDEX messages_due ON messages (state, not_before);
    CREATE INDEX messages_to ON messages (to_e164, created_at);
    CREATE INDEX messages_created ON messages (created_at);

    CREATE TABLE attempts (
        id              INTEGER PRIMARY KEY,
        message_id      INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
        sender          TEXT,
        started_at      TEXT NOT NULL,
        finished_at     TEXT NOT NULL,
        result          TEXT NOT NULL,
        detail          TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX attempts_message ON attempts (message_id);

    CREATE TABLE opt_outs (
        number_e164     TEXT PRIMARY KEY,
        at              TEXT NOT NULL,
        keyword         TEXT NOT NULL,
        origin          TEXT NOT NULL
    );

    CREATE TABLE replies (
        id              INTEGER PRIMARY KEY,
        from_e164       TEXT NOT NULL,
        body            TEXT NOT NULL,
        received_at     TEXT NOT NULL,
        sender          TEXT NOT NULL,
        kind            TEXT NOT NULL
    );
    CREATE INDEX replies_from ON replies (from_e164, received_at);
    """,
    # 2: site facts (the salt of erased opt-outs); when each call was anonymised
    """
    CREATE TABLE meta (
        key             TEXT PRIMARY KEY,
        value           TEXT NOT NULL
    );
    INSERT INTO meta (key, value) VALUES ('optout_salt', lower(hex(randomblob(32))));
    ALTER TABLE calls ADD COLUMN anonymised_at TEXT;
    ALTER TABLE messages ADD COLUMN anonymised_at TEXT;
    """,
    # 3: staffing alerts and daily digests sent to managers (last one per department
    # survives restarts, so the once-per-period rule holds across them)
    """
    CREATE TABLE alerts (
        id              INTEGER PRIMARY KEY,
        kind            TEXT NOT NULL,
        department      TEXT NOT NULL,
        dedup_key       TEXT NOT NULL UNIQUE,
        fired_at        TEXT NOT NULL,
        missed          INTEGER,
        usual           REAL,
        score           REAL,
        body            TEXT NOT NULL,
        webhook_state   TEXT
    );
    CREATE INDEX alerts_last ON alerts (kind, department, fired_at);
    """,
    # 4: a sender's resume token for a text that partly left (parts of a long text)
    """
    ALTER TABLE messages ADD COLUMN resume TEXT;
    """,
    # 5: the feeds the cloud pulls follow changes, not only new rows: every row gets
    # a `change_seq` from one counter whenever it is inserted or changes in a way the
    # cloud cares about (a call decided or recovered, a message changing state).
    """
    CREATE TABLE feed_seq (n INTEGER NOT NULL);
    INSERT INTO feed_seq (n) SELECT MAX(
        (SELECT COALESCE(MAX(id), 0) FROM calls),
        (SELECT COALESCE(MAX(id), 0) FROM messages),
        (SELECT COALESCE(MAX(id), 0) FROM replies));
    ALTER TABLE calls ADD COLUMN change_seq INTEGER;
    ALTER TABLE messages ADD COLUMN change_seq INTEGER;
    ALTER TABLE replies ADD COLUMN change_seq INTEGER;
    UPDATE calls SET change_seq = id;
    UPDATE messages SET change_seq = id;
    UPDATE replies SET change_seq = id;
    CREATE INDEX calls_change ON calls (change_seq);
    CREATE INDEX messages_change ON messages (change_seq);
    CREATE INDEX replies_change ON replies (change_seq);
    CREATE TRIGGER calls_new AFTER INSERT ON calls BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE calls SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;
    CREATE TRIGGER calls_changed AFTER UPDATE OF decision, recovered_at ON calls BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE calls SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;
    CREATE TRIGGER messages_new AFTER INSERT ON messages BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE messages SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;
    CREATE TRIGGER messages_changed AFTER UPDATE OF state ON messages
    WHEN NEW.state IS NOT OLD.state BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE messages SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;
    CREATE TRIGGER replies_new AFTER INSERT ON replies BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE replies SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;
    """,
    # 6: recovery cases. One open case per (caller, department) (a partial unique
    # index; withheld callers have no number, so each of their misses is its own
    # case), the missed calls it gathers, the calls back to the caller (attempts), its
    # timeline (who did what, when) and the staff notifications it asks for (written in
    # the same transaction as the case's change, delivered by whoever reads them).
    """
    CREATE TABLE cases (
        id              INTEGER PRIMARY KEY,
        caller_e164     TEXT,
        caller_raw      TEXT NOT NULL DEFAULT '',
        department      TEXT NOT NULL,
        state           TEXT NOT NULL,
        resolution      TEXT,
        callback_possible INTEGER NOT NULL DEFAULT 1,
        calls           INTEGER NOT NULL DEFAULT 0,
        call_ids        TEXT NOT NULL DEFAULT '',
        opened_at       TEXT NOT NULL,
        last_miss_at    TEXT NOT NULL,
        sla_due_at      TEXT,
        first_attempt_at TEXT,
        attempts        INTEGER NOT NULL DEFAULT 0,
        replied_at      TEXT,
        reached_at      TEXT,
        reached_by      TEXT,
        proof_call_id   INTEGER REFERENCES calls (id) ON DELETE SET NULL,
        escalated_at    TEXT,
        owner           TEXT,
        note            TEXT,
        closed_at       TEXT,
        closed_by       TEXT,
        touched_at      TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        change_seq      INTEGER
    );
    CREATE UNIQUE INDEX cases_one_open ON cases (caller_e164, department)
        WHERE state = 'open';
    CREATE INDEX cases_caller ON cases (caller_e164, state);
    CREATE INDEX cases_state ON cases (state, sla_due_at);
    CREATE INDEX cases_change ON cases (change_seq);

    CREATE TABLE case_calls (
        case_id         INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        call_id         INTEGER NOT NULL REFERENCES calls (id) ON DELETE CASCADE,
        PRIMARY KEY (case_id, call_id)
    );
    CREATE INDEX case_calls_call ON case_calls (call_id);

    CREATE TABLE case_attempts (
        id              INTEGER PRIMARY KEY,
        case_id         INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        call_id         INTEGER REFERENCES calls (id) ON DELETE SET NULL,
        at              TEXT NOT NULL,
        direction       TEXT NOT NULL,
        extension       TEXT,
        talk_seconds    REAL NOT NULL DEFAULT 0,
        result          TEXT NOT NULL,
        UNIQUE (case_id, call_id)
    );

    CREATE TABLE case_actions (
        id              INTEGER PRIMARY KEY,
        case_id         INTEGER NOT NULL REFERENCES cases (id) ON DELETE CASCADE,
        at              TEXT NOT NULL,
        actor           TEXT NOT NULL,
        action          TEXT NOT NULL,
        detail          TEXT NOT NULL DEFAULT '',
        ref_id          INTEGER
    );
    CREATE INDEX case_actions_case ON case_actions (case_id, id);

    CREATE TABLE case_notifications (
        id              INTEGER PRIMARY KEY,
        case_id         INTEGER REFERENCES cases (id) ON DELETE CASCADE,
        department      TEXT NOT NULL,
        kind            TEXT NOT NULL,
        reply_id        INTEGER REFERENCES replies (id) ON DELETE SET NULL,
        created_at      TEXT NOT NULL,
        not_before      TEXT NOT NULL,
        state           TEXT NOT NULL DEFAULT 'pending',
        attempts        INTEGER NOT NULL DEFAULT 0,
        last_error      TEXT,
        sent_at         TEXT
    );
    CREATE INDEX case_notifications_due ON case_notifications (state, not_before);

    CREATE TRIGGER cases_new AFTER INSERT ON cases BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE cases SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;
    CREATE TRIGGER cases_changed AFTER UPDATE OF updated_at ON cases BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE cases SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;
    """,
    # 7: what each call record is built from (issue 14): `live` (every event seen),
    # `partial` (adopted in progress after a connect), `cdr` (the PBX's CDR/CEL rows).
    """
    ALTER TABLE calls ADD COLUMN evidence TEXT NOT NULL DEFAULT 'live';
    """,
    # 8: staff notifications delivered per channel: a case's notification fans out
    # into one row per channel (`target`: `channel:<n>` of its department's notify
    # list, `manager:<name>:<email|phone|webhook>`), each with its own attempts,
    # last_error and next try (`not_before`); `tried_at` is its last attempt.
    """
    ALTER TABLE case_notifications ADD COLUMN target TEXT;
    ALTER TABLE case_notifications ADD COLUMN tried_at TEXT;
    """,
    # migration 9 (twilio): two-way texting, the delivery side (issue 17).
    # `messages.delivery` is the carrier's last word on a sent text (queued, sent,
    # delivered, undelivered, failed: forward only), `deliveries` every report as it
    # came (applied or not; `message_id` NULL for a SID we never sent);
    # `number_facts` what a provider said about a number (sms_incapable, unreachable
    # `until`, filtered, misconfigured; opt-outs keep their own table); `inbound_seen`
    # the provider ids of texts received, so a redelivered one is not a second reply;
    # `sender_marks` a sender's small persisted state (a poll's high-water mark);
    # `cases.callback_only` set while the caller's number is sms_incapable.
    """
    ALTER TABLE messages ADD COLUMN delivery TEXT;
    ALTER TABLE messages ADD COLUMN delivery_code TEXT;
    ALTER TABLE messages ADD COLUMN delivery_at TEXT;
    CREATE INDEX messages_provider ON messages (sender, provider_id);
    CREATE TRIGGER messages_delivery AFTER UPDATE OF delivery ON messages
    WHEN NEW.delivery IS NOT OLD.delivery BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE messages SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;

    CREATE TABLE deliveries (
        id              INTEGER PRIMARY KEY,
        message_id      INTEGER REFERENCES messages (id) ON DELETE CASCADE,
        sender          TEXT NOT NULL,
        provider_id     TEXT NOT NULL,
        state           TEXT NOT NULL,
        error_code      TEXT,
        at              TEXT NOT NULL,
        received_at     TEXT NOT NULL,
        applied         INTEGER NOT NULL,
        detail          TEXT NOT NULL DEFAULT ''
    );
    CREATE INDEX deliveries_message ON deliveries (message_id, id);
    CREATE INDEX deliveries_provider ON deliveries (sender, provider_id, state);

    CREATE TABLE number_facts (
        number_e164     TEXT NOT NULL,
        fact            TEXT NOT NULL,
        at              TEXT NOT NULL,
        until           TEXT,
        code            TEXT,
        origin          TEXT NOT NULL,
        detail          TEXT NOT NULL DEFAULT '',
        PRIMARY KEY (number_e164, fact)
    );

    CREATE TABLE inbound_seen (
        sender          TEXT NOT NULL,
        provider_id     TEXT NOT NULL,
        at              TEXT NOT NULL,
        PRIMARY KEY (sender, provider_id)
    );

    -- a case whose caller cannot take texts is callback-only, also when opened later
    ALTER TABLE cases ADD COLUMN callback_only INTEGER NOT NULL DEFAULT 0;
    CREATE TRIGGER cases_callback_only AFTER INSERT ON cases
    WHEN EXISTS (SELECT 1 FROM number_facts WHERE number_e164 = NEW.caller_e164
                 AND fact = 'sms_incapable') BEGIN
        UPDATE cases SET callback_only = 1 WHERE id = NEW.id;
    END;

    CREATE TABLE sender_marks (
        sender          TEXT NOT NULL,
        key             TEXT NOT NULL,
        value           TEXT NOT NULL,
        updated_at      TEXT NOT NULL,
        PRIMARY KEY (sender, key)
    );
    """,
    # migration 10 (threads): the sender a text must leave through (`via`): a reply
    # in a case's conversation goes out through the sender that reached the caller
    # first (NULL: the chain, in order).
    """
    ALTER TABLE messages ADD COLUMN via TEXT;
    """,
    # 11: the report's covering index (issue 20): inbound calls in the order the report
    # groups them (UTC hour, department, outcome, after-hours, IVR path), with the
    # start, the recovery and the end, so `ringback report` counts a year of calls in SQLite
    # without sorting them or reading a table row.
    """
    CREATE INDEX calls_report ON calls (direction, substr(started_at, 1, 13), department,
        outcome, after_hours, ivr_path, started_at, recovered_at, ended_at);
    """,
    # 12: the number fact a delivery report carries, kept with the report so a report
    # waiting for its text (it came before the provider id was recorded) applies it
    # when adopted
    """
    ALTER TABLE deliveries ADD COLUMN fact TEXT;
    """,
    # 13: the texts the SMS-pumping guard counts (issue 20), in an index of their own.
    # It counts the last hour's before every call's decision and read each text's row
    # (its state, its template) to do so; it now counts this index's entries alone:
    # the texts it must not count (suppressed, failed, the staff's) are not in it.
    """
    CREATE INDEX messages_counted ON messages (created_at)
        WHERE state NOT IN ('suppressed','failed')
        AND template NOT IN ('alert','digest','staff_notice');
    """,
    # 14: a new feed row stamped by its own INSERT (issue 20). The triggers of 5 and 6
    # bumped `feed_seq`, then rewrote the row just inserted (and its `change_seq`
    # index entry) to stamp it. An insert may now give `change_seq` itself, as
    # `(SELECT n + 1 FROM feed_seq)` in a one-row INSERT: its trigger then only bumps
    # the counter, after the row went in, so the counter moves exactly when a row is
    # inserted (an INSERT OR IGNORE that ignores, or an upsert that updates, fires no
    # INSERT trigger; the update is stamped by the `*_changed` trigger as before) and
    # ends at the value the row got. An insert without it is stamped as before.
    """
    DROP TRIGGER calls_new;
    DROP TRIGGER messages_new;
    DROP TRIGGER replies_new;
    DROP TRIGGER cases_new;
    CREATE TRIGGER calls_new AFTER INSERT ON calls WHEN NEW.change_seq IS NULL BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE calls SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;
    CREATE TRIGGER calls_stamped AFTER INSERT ON calls WHEN NEW.change_seq IS NOT NULL BEGIN
        UPDATE feed_seq SET n = n + 1;
    END;
    CREATE TRIGGER messages_new AFTER INSERT ON messages WHEN NEW.change_seq IS NULL BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE messages SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;
    CREATE TRIGGER messages_stamped AFTER INSERT ON messages
    WHEN NEW.change_seq IS NOT NULL BEGIN
        UPDATE feed_seq SET n = n + 1;
    END;
    CREATE TRIGGER replies_new AFTER INSERT ON replies WHEN NEW.change_seq IS NULL BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE replies SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;
    CREATE TRIGGER replies_stamped AFTER INSERT ON replies
    WHEN NEW.change_seq IS NOT NULL BEGIN
        UPDATE feed_seq SET n = n + 1;
    END;
    CREATE TRIGGER cases_new AFTER INSERT ON cases WHEN NEW.change_seq IS NULL BEGIN
        UPDATE feed_seq SET n = n + 1;
        UPDATE cases SET change_seq = (SELECT n FROM feed_seq) WHERE id = NEW.id;
    END;
    CREATE TRIGGER cases_stamped AFTER INSERT ON cases WHEN NEW.change_seq IS NOT NULL BEGIN
        UPDATE feed_seq SET n = n + 1;
    END;
    """,
    # 15: a click-to-call the PBX did not place is an attempt whose detail is its own
    # form, `call failed: <kind> <the PBX's words>`; the desk stored it as a logged
    # callback whose note was that form (`logged not_answered call failed: …`), which a
    # note typed by an advisor could not be told from. Those rows take the new form.
    """
    UPDATE case_actions SET detail = substr(detail, length('logged not_answered ') + 1)
    WHERE action = 'attempt' AND detail GLOB 'logged not_answered call failed: *';
    """,
)
