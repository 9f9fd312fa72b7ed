-- bench/pg/schema.sql: what a sanhe settle touches, as PostgreSQL tables
-- (bench/pg_peer.sh). Sizes follow bench-lmdb-commit's: a 700-byte
-- settlement, a 500-byte idempotency record, a 200-byte journal entry.
CREATE TABLE persons (
    id bigint PRIMARY KEY,
    resident_id text NOT NULL,
    categories text NOT NULL,
    enrolled_year int NOT NULL
);
CREATE TABLE accumulators (
    person bigint NOT NULL,
    year int NOT NULL,
    fund text NOT NULL,
    cap_group text NOT NULL,
    paid bigint NOT NULL DEFAULT 0,
    payable bigint NOT NULL DEFAULT 0,
    deductible_met bigint NOT NULL DEFAULT 0,
    PRIMARY KEY (person, year, fund, cap_group)
);
CREATE TABLE settlements (
    id bigserial PRIMARY KEY,
    hospital int NOT NULL,
    request_id text NOT NULL,
    person bigint NOT NULL,
    record bytea NOT NULL
);
CREATE TABLE requests (
    hospital int NOT NULL,
    request_id text NOT NULL,
    settlement_id bigint NOT NULL,
    reply bytea NOT NULL,
    PRIMARY KEY (hospital, request_id)
);
CREATE TABLE journal (
    seq bigserial PRIMARY KEY,
    business_day date NOT NULL,
    settlement_id bigint NOT NULL,
    entry bytea NOT NULL
);
