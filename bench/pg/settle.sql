-- bench/pg/settle.sql: one settle as one PostgreSQL transaction (pgbench
-- script; bench/pg_peer.sh). The writes of a sanhe settle: the person read,
-- two accumulator updates, the settlement, the idempotency record, the
-- journal entry. Not included: the claim's rules (sanhe's rules core) and
-- the journal's hash chain (which would serialise every transaction on the
-- previous entry).
\set p random(1, :persons)
\set h random(1, 114)
BEGIN;
SELECT categories, enrolled_year FROM persons WHERE id = :p;
UPDATE accumulators SET paid = paid + 1250, payable = payable + 2500
    WHERE person = :p AND year = 2026 AND fund = 'insurance' AND cap_group = 'outpatient';
UPDATE accumulators SET paid = paid + 310, payable = payable + 620
    WHERE person = :p AND year = 2026 AND fund = 'assist' AND cap_group = 'outpatient';
WITH s AS (
    INSERT INTO settlements (hospital, request_id, person, record)
    VALUES (:h, gen_random_uuid()::text, :p, convert_to(repeat('s', 700), 'UTF8'))
    RETURNING id, hospital, request_id
), r AS (
    INSERT INTO requests (hospital, request_id, settlement_id, reply)
    SELECT hospital, request_id, id, convert_to(repeat('r', 500), 'UTF8') FROM s
)
INSERT INTO journal (business_day, settlement_id, entry)
SELECT current_date, id, convert_to(repeat('j', 200), 'UTF8') FROM s;
END;
