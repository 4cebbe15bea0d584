import type { PgPool } from "../shared/postgres.js";
import type { TableRef } from "./tables.js";

/**
 * The columns a projected table is keyed by (its ClickHouse ORDER BY and the Kafka message key),
 * and why. The projection needs a key that every change carries, updates and deletes included:
 * - the primary key;
 * - without one, the replica identity index (REPLICA IDENTITY USING INDEX: Postgres logs its
 *   columns for every update and delete);
 * - or, under REPLICA IDENTITY FULL (whole old rows logged), a unique index on NOT NULL columns.
 * A table with none of these cannot be projected (`candidate` names a unique index that would do
 * once Postgres logs it: REPLICA IDENTITY FULL or USING INDEX).
 */
export interface ProjectionKey {
  columns: string[];
  source: "primary key" | "replica identity index" | "unique index";
  index?: string;
}

interface IndexRow {
  name: string;
  primary: boolean;
  replident: boolean;
  columns: string[];
}

/** Unique indexes usable as a row's identity: plain columns, all NOT NULL, no predicate. */
async function identityIndexes(pool: PgPool, ref: TableRef): Promise<IndexRow[]> {
  const { rows } = await pool.query<IndexRow>(
    `SELECT ic.relname::text AS name, i.indisprimary AS primary, i.indisreplident AS replident,
            array_agg(a.attname::text ORDER BY k.ord) AS columns
       FROM pg_index i
       JOIN pg_class ic ON ic.oid = i.indexrelid
       CROSS JOIN LATERAL unnest(i.indkey) WITH ORDINALITY AS k(attnum, ord)
       JOIN pg_attribute a ON a.attrelid = i.indrelid AND a.attnum = k.attnum
      WHERE i.indrelid = (SELECT c.oid FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
                           WHERE n.nspname = $1 AND c.relname = $2)
        AND i.indisunique AND i.indexprs IS NULL AND i.indpred IS NULL
        AND k.ord <= i.indnkeyatts
      GROUP BY ic.relname, i.indisprimary, i.indisreplident
     HAVING bool_and(a.attnotnull)
      ORDER BY i.indisprimary DESC, i.indisreplident DESC, count(*), ic.relname`,
    [ref.schema, ref.table],
  );
  return rows;
}

export async function projectionKey(pool: PgPool, ref: TableRef): Promise<{ key?: ProjectionKey; candidate?: string }> {
  const indexes = await identityIndexes(pool, ref);
  const { rows } = await pool.query<{ relreplident: string }>(
    // By name, not ::regclass: preflight may run as a user without USAGE on the schema.
    `SELECT c.relreplident FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace
      WHERE n.nspname = $1 AND c.relname = $2`,
    [ref.schema, ref.table],
  );
  const identity = rows[0]?.relreplident;
  const pk = indexes.find((i) => i.primary);
  if (pk) return { key: { columns: pk.columns, source: "primary key", index: pk.name } };
  const replident = indexes.find((i) => i.replident);
  if (identity === "i" && replident)
    return { key: { columns: replident.columns, source: "replica identity index", index: replident.name } };
  const unique = indexes[0];
  if (identity === "f" && unique)
    return { key: { columns: unique.columns, source: "unique index", index: unique.name } };
  return { candidate: unique?.name };
}

/** Debezium's message.key.columns entry for tables keyed by something other than their primary key. */
export function messageKeyColumns(keys: { table: string; key: ProjectionKey }[], regex: (t: string) => string): string {
  return keys
    .filter((k) => k.key.source !== "primary key")
    .map((k) => `${regex(k.table)}:${k.key.columns.join(",")}`)
    .join(";");
}
