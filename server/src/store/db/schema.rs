//! The database schema as versioned migrations (applied in order at open).

use rusqlite_migration::M;

pub(super) const MIGRATIONS: &[M<'static>] = &[
    M::up(
        r#"
CREATE TABLE incidents (
    id TEXT PRIMARY KEY,
    container_id TEXT NOT NULL,
    container_name TEXT NOT NULL,
    image TEXT NOT NULL,
    labels TEXT NOT NULL,
    host TEXT NOT NULL,
    engine_version TEXT NOT NULL,
    simulated INTEGER NOT NULL,
    opened_ms INTEGER NOT NULL,
    closed_ms INTEGER,
    trigger TEXT NOT NULL,
    trigger_text TEXT NOT NULL,
    close_reason TEXT,
    peak_probability REAL NOT NULL,
    peak_level TEXT NOT NULL,
    reasons TEXT NOT NULL,
    cpu_quota_pct REAL
);
CREATE INDEX incidents_opened ON incidents(opened_ms);
CREATE INDEX incidents_container ON incidents(container_name);
CREATE TABLE incident_samples (
    incident_id TEXT NOT NULL REFERENCES incidents(id) ON DELETE CASCADE,
    ts_ms INTEGER NOT NULL,
    point TEXT NOT NULL,
    PRIMARY KEY (incident_id, ts_ms)
) WITHOUT ROWID;
CREATE TABLE interventions (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT REFERENCES incidents(id) ON DELETE SET NULL,
    container_id TEXT NOT NULL,
    container_name TEXT NOT NULL,
    decided_ms INTEGER NOT NULL,
    started_ms INTEGER,
    finished_ms INTEGER,
    action TEXT NOT NULL,
    mode TEXT NOT NULL,
    manual INTEGER NOT NULL,
    outcome TEXT NOT NULL,
    reason TEXT NOT NULL,
    detail TEXT,
    failure_probability REAL NOT NULL
);
CREATE INDEX interventions_decided ON interventions(decided_ms);
CREATE INDEX interventions_container ON interventions(container_name);
CREATE INDEX interventions_incident ON interventions(incident_id);
CREATE TABLE counters (
    container_name TEXT PRIMARY KEY,
    interventions INTEGER NOT NULL DEFAULT 0,
    critical_entries INTEGER NOT NULL DEFAULT 0,
    breaker_open INTEGER NOT NULL DEFAULT 0
);
"#,
    ),
    // The report chain's anchor: every report written, in order, with its hash. Deleting the
    // newest reports from the directory is then caught too.
    M::up(
        r#"
CREATE TABLE reports (
    seq INTEGER PRIMARY KEY,
    incident_id TEXT NOT NULL,
    file TEXT NOT NULL,
    sha256 TEXT NOT NULL,
    written_ms INTEGER NOT NULL
);
"#,
    ),
    // The healing policy's guards (cooldown, backoff, hourly and fleet windows, relapses,
    // breaker), written in the same transaction as the record that changed them, so a restart
    // of DockerPulse resumes exactly where it stopped. The breaker moves here from `counters`.
    // Restarts are verified: did the container hold (running, healthy) afterwards?
    M::up(
        r#"
CREATE TABLE heal_guards (
    container_name TEXT PRIMARY KEY,
    breaker_open INTEGER NOT NULL DEFAULT 0,
    state TEXT NOT NULL,
    updated_ms INTEGER NOT NULL
);
INSERT INTO heal_guards (container_name, breaker_open, state, updated_ms)
    SELECT container_name, 1, '{"breaker_open":true}', 0 FROM counters WHERE breaker_open = 1;
ALTER TABLE interventions ADD COLUMN held INTEGER;
ALTER TABLE interventions ADD COLUMN verification TEXT;
CREATE INDEX interventions_outcome ON interventions(outcome);
CREATE TABLE meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
"#,
    ),
    // Root-cause hints gathered when an incident opened or a container died (JSON of
    // `app::wire::Diagnosis`); those of an incident go with it.
    M::up(
        r#"
CREATE TABLE diagnoses (
    id INTEGER PRIMARY KEY AUTOINCREMENT,
    incident_id TEXT REFERENCES incidents(id) ON DELETE CASCADE,
    container_id TEXT NOT NULL,
    container_name TEXT NOT NULL,
    ts_ms INTEGER NOT NULL,
    body TEXT NOT NULL
);
CREATE INDEX diagnoses_incident ON diagnoses(incident_id);
CREATE INDEX diagnoses_container ON diagnoses(container_name, ts_ms);
"#,
    ),
    // The notification outbox: every alert or webhook delivery, durable until a 2xx (or given
    // up, or its endpoint gone), in order per destination; destinations a 410 disabled.
    M::up(
        r#"
CREATE TABLE outbox (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    id TEXT NOT NULL UNIQUE,
    destination TEXT NOT NULL,
    event TEXT NOT NULL,
    incident_id TEXT NOT NULL,
    facts TEXT NOT NULL,
    created_ms INTEGER NOT NULL,
    attempts INTEGER NOT NULL DEFAULT 0,
    next_ms INTEGER NOT NULL,
    state TEXT NOT NULL,
    last_status INTEGER,
    last_error TEXT,
    last_attempt_ms INTEGER,
    done_ms INTEGER
);
CREATE INDEX outbox_pending ON outbox(state, destination, seq);
CREATE TABLE outbox_destinations (
    name TEXT PRIMARY KEY,
    target TEXT NOT NULL,
    disabled_ms INTEGER,
    disabled_reason TEXT
);
"#,
    ),
];
