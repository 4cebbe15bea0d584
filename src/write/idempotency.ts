import { createHash } from "node:crypto";
import type pg from "pg";
import { accept, type Decision, reject } from "./rejections.js";

/**
 * Idempotency-Key handling (the IETF httpapi-idempotency-key-header draft's semantics):
 * - the key is claimed inside the command's own transaction, before the command runs;
 *   a concurrent retry with the same key waits on that row, then sees the stored answer;
 * - the first successful answer is stored in the same transaction, so "stored" and
 *   "written" commit or roll back together; a failed command stores nothing and may be retried;
 * - the same key with a different request (method, path, If-Match or body) is a 422;
 * - keys older than the TTL are free again.
 */
export interface StoredAnswer {
  status: number;
  body: Record<string, unknown>;
}

export function requestFingerprint(parts: { method: string; path: string; ifMatch?: string; body?: unknown }): string {
  return createHash("sha256")
    .update(JSON.stringify([parts.method, parts.path, parts.ifMatch ?? null, parts.body ?? null]))
    .digest("hex");
}

/** Pure: what to do with a key that already has an answer. */
export function decideReplay(storedHash: string, requestHash: string, answer: StoredAnswer): Decision<StoredAnswer> {
  if (storedHash !== requestHash) {
    return reject({
      kind: "idempotency_key_reused",
      detail: "this Idempotency-Key was already used for a different request; use a new key for a new request",
      errors: [{ field: "idempotency-key", reason: "already used with a different request" }],
    });
  }
  return accept(answer);
}

export type Claim = { claimed: true } | { claimed: false; storedHash: string; answer: StoredAnswer };

export async function claimKey(client: pg.ClientBase, key: string, hash: string, ttlHours: number): Promise<Claim> {
  const inserted = await client.query(
    `INSERT INTO sidecar.idempotency_keys (key, request_hash) VALUES ($1, $2)
     ON CONFLICT (key) DO UPDATE
       SET request_hash = EXCLUDED.request_hash, status = NULL, response = NULL, created_at = now()
       WHERE sidecar.idempotency_keys.created_at < now() - make_interval(hours => $3)
     RETURNING key`,
    [key, hash, ttlHours],
  );
  if (inserted.rowCount === 1) return { claimed: true };
  const { rows } = await client.query<{ request_hash: string; status: number; response: Record<string, unknown> }>(
    "SELECT request_hash, status, response FROM sidecar.idempotency_keys WHERE key = $1",
    [key],
  );
  const row = rows[0];
  if (!row) throw new Error(`idempotency key ${key} vanished`);
  return { claimed: false, storedHash: row.request_hash, answer: { status: row.status, body: row.response } };
}

export async function storeAnswer(client: pg.ClientBase, key: string, answer: StoredAnswer): Promise<void> {
  await client.query("UPDATE sidecar.idempotency_keys SET status = $2, response = $3 WHERE key = $1", [
    key,
    answer.status,
    JSON.stringify(answer.body),
  ]);
}

/**
 * Deletes keys older than the TTL, at most `batchSize` rows per statement so no statement
 * holds many row locks for long; returns how many went. Safe beside claimKey: rows a running
 * command holds are skipped (SKIP LOCKED), and the age is checked again on the row as it is
 * when deleted, so a key re-claimed a moment ago (created_at = now()) stays.
 */
export async function pruneIdempotencyKeys(pool: pg.Pool, ttlHours: number, batchSize = 5_000): Promise<number> {
  let total = 0;
  for (;;) {
    const { rowCount } = await pool.query(
      `DELETE FROM sidecar.idempotency_keys
        WHERE key IN (SELECT key FROM sidecar.idempotency_keys
                       WHERE created_at < now() - make_interval(hours => $1)
                       LIMIT $2 FOR UPDATE SKIP LOCKED)
          AND created_at < now() - make_interval(hours => $1)`,
      [ttlHours, batchSize],
    );
    total += rowCount ?? 0;
    if ((rowCount ?? 0) < batchSize) return total;
  }
}
