-- Idempotency keys of the write API. Kept in its own schema `sidecar`, outside the
-- tables Debezium captures (the publication lists shop.* tables only), so a stored
-- answer never shows up as a change event.
CREATE SCHEMA IF NOT EXISTS sidecar;

CREATE TABLE sidecar.idempotency_keys (
  key           text PRIMARY KEY,
  -- sha256 of method, path, If-Match and the validated body: a reuse with another request is refused.
  request_hash  text NOT NULL,
  -- The first successful answer (status and JSON body, without the consistency token).
  status        integer,
  response      jsonb,
  created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX idempotency_keys_created_idx ON sidecar.idempotency_keys (created_at);
