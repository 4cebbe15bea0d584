import type { PgPool } from "../../src/shared/postgres.js";

/**
 * A "legacy" database the sidecar did not create, in raw SQL: two schemas, enums, domains,
 * arrays, jsonb, numeric, timestamptz, bytea, composite keys (one with non-ASCII text),
 * a partitioned table, a table without a primary key and a table of `bigRows` rows.
 */
export function legacySchemas(id: string) {
  return { crm: `lg_${id}_crm`, billing: `lg_${id}_billing` };
}

export async function createLegacySchema(pool: PgPool, id: string, bigRows = 100_000) {
  const { crm, billing } = legacySchemas(id);
  const sql = `
    CREATE SCHEMA ${crm};
    CREATE SCHEMA ${billing};
    CREATE TYPE ${crm}.status AS ENUM ('new', 'active', 'closed');
    CREATE DOMAIN ${crm}.email AS text CHECK (VALUE LIKE '%@%');
    CREATE DOMAIN ${crm}.amount AS numeric(12, 2);

    CREATE TABLE ${crm}.customers (
      id bigint PRIMARY KEY,
      email ${crm}.email NOT NULL,
      status ${crm}.status NOT NULL DEFAULT 'new',
      tags text[],
      scores int[] NOT NULL DEFAULT '{}',
      profile jsonb,
      balance numeric(14, 2),
      credit ${crm}.amount,
      created_at timestamptz NOT NULL DEFAULT now(),
      avatar bytea,
      note varchar(50),
      code char(4),
      ratio double precision,
      weight real,
      active boolean,
      born date,
      uid uuid,
      wake time,
      seen timestamp(3),
      raw numeric,
      small smallint,
      span interval
    );
    INSERT INTO ${crm}.customers
      SELECT g, 'c' || g || '@example.com', (ARRAY['new','active','closed'])[1 + g % 3]::${crm}.status,
             CASE WHEN g % 4 = 0 THEN NULL ELSE ARRAY['t' || g, 'x "q" ' || g, NULL] END,
             ARRAY[g, g * 2],
             jsonb_build_object('n', g, 'nested', jsonb_build_object('a', ARRAY[1, 2]), 'big', 12345678901234567890),
             (g * 1.25)::numeric(14, 2), CASE WHEN g % 2 = 0 THEN g::numeric / 3 END,
             timestamptz '2024-01-01 00:00:00.123456+02' + g * interval '1 minute 0.000001 second',
             decode(lpad(to_hex(g), 8, '0'), 'hex'), 'note ' || g, 'c' || (g % 10),
             g / 7.0, g / 3.0, g % 2 = 0, date '1990-01-01' + g, md5(g::text)::uuid,
             time '08:00' + g * interval '1.5 second', timestamp '2020-02-02 02:02:02.5' + g * interval '1 ms',
             CASE WHEN g % 3 = 0 THEN g::numeric / 7 ELSE 1.50 END, (g % 30000)::smallint,
             CASE WHEN g % 5 = 0 THEN interval '1 day -2 hours 3.5 seconds' ELSE interval '2 months' END
        FROM generate_series(1, 500) g;

    CREATE TABLE ${crm}.contacts (
      customer_id bigint NOT NULL,
      channel text NOT NULL,
      value text,
      since timestamptz,
      PRIMARY KEY (customer_id, channel)
    );
    INSERT INTO ${crm}.contacts
      SELECT c, ch, ch || ':' || c, timestamptz '2023-06-01Z' + c * interval '1 hour'
        FROM generate_series(1, 200) c, unnest(ARRAY['email', 'Phone', 'sms', 'ßms', 'Zeta', 'élan', 'a b']) ch;

    CREATE TABLE ${crm}.audit_log (at timestamptz NOT NULL DEFAULT now(), message text);
    INSERT INTO ${crm}.audit_log (message) SELECT 'm' || g FROM generate_series(1, 50) g;

    CREATE TABLE ${billing}.invoices (
      id bigint NOT NULL,
      issued_on date NOT NULL,
      customer_id bigint NOT NULL,
      total numeric(12, 2) NOT NULL,
      lines jsonb NOT NULL DEFAULT '[]',
      PRIMARY KEY (id, issued_on)
    ) PARTITION BY RANGE (issued_on);
    CREATE TABLE ${billing}.invoices_2023 PARTITION OF ${billing}.invoices FOR VALUES FROM ('2023-01-01') TO ('2024-01-01');
    CREATE TABLE ${billing}.invoices_2024 PARTITION OF ${billing}.invoices FOR VALUES FROM ('2024-01-01') TO ('2025-01-01');
    CREATE TABLE ${billing}.invoices_other PARTITION OF ${billing}.invoices DEFAULT;
    INSERT INTO ${billing}.invoices
      SELECT g, date '2023-03-01' + (g * 3) % 900, 1 + g % 500, (g * 7.31)::numeric(12, 2),
             jsonb_build_array(jsonb_build_object('sku', 'p' || g, 'qty', g % 5))
        FROM generate_series(1, 2000) g;

    CREATE TABLE ${billing}.ledger (
      id bigint PRIMARY KEY,
      account int NOT NULL,
      amount numeric(18, 4) NOT NULL,
      label text,
      booked_at timestamptz NOT NULL
    );
    INSERT INTO ${billing}.ledger
      SELECT g, g % 1000, (g * 3.1416)::numeric(18, 4), CASE WHEN g % 10 = 0 THEN NULL ELSE 'entry ' || g END,
             timestamptz '2022-01-01Z' + g * interval '1 second'
        FROM generate_series(1, ${bigRows}) g;
  `;
  await pool.query(sql);
  await pool.query(`ANALYZE ${crm}.customers, ${crm}.contacts, ${billing}.invoices, ${billing}.ledger`);
}

export async function dropLegacySchema(pool: PgPool, id: string) {
  const { crm, billing } = legacySchemas(id);
  await pool.query(`DROP SCHEMA IF EXISTS ${crm} CASCADE`);
  await pool.query(`DROP SCHEMA IF EXISTS ${billing} CASCADE`);
}
