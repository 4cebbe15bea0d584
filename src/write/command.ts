import type { Context, TypedResponse } from "hono";
import type pg from "pg";
import type { PgPool } from "../shared/postgres.js";
import { claimKey, decideReplay, requestFingerprint, type StoredAnswer, storeAnswer } from "./idempotency.js";
import { orThrow } from "./rejections.js";
import { withTransaction } from "./tx.js";
import { type ExpectedVersion, etagOf, parseIfMatch } from "./versioning.js";

/** Headers every command accepts (validated by the route's header schema first). */
export interface CommandHeaders {
  "idempotency-key"?: string;
  "if-match"?: string;
}

/** What a command produced: an HTTP status and a JSON body (the entity; `version` becomes the ETag). */
export interface CommandOutcome {
  status: 200 | 201;
  body: Record<string, unknown>;
}

/**
 * A command's answer: a plain Response built by the runner. Typed as assignable to any
 * route's declared response so route handlers can return it; the body's shape is
 * guaranteed by the repositories and documented by the route's zod schema.
 */
// biome-ignore lint/suspicious/noExplicitAny: the runner's Response stands in for every route's typed response
export type CommandResponse = Response & TypedResponse<never, any, any>;

export type CommandFn = (client: pg.PoolClient, expected: ExpectedVersion) => Promise<CommandOutcome>;

export interface CommandRunnerOptions {
  pool: PgPool;
  /** How long an Idempotency-Key keeps its answer. */
  idempotencyTtlHours: number;
}

/** Strips the optional quotes of a structured-field string key (`"abc"` → `abc`). */
export function normalizeKey(key: string): string {
  return key.length >= 2 && key.startsWith('"') && key.endsWith('"') ? key.slice(1, -1) : key;
}

/**
 * Runs one command as one transaction, with Idempotency-Key and If-Match handling, and
 * answers with the body plus `consistencyToken`, and headers `X-Consistency-Token` and `ETag`.
 */
export function createCommandRunner({ pool, idempotencyTtlHours }: CommandRunnerOptions) {
  return async function runCommand(
    c: Context,
    input: { headers: CommandHeaders; body?: unknown },
    fn: CommandFn,
  ): Promise<CommandResponse> {
    const ifMatch = input.headers["if-match"];
    const expected = parseIfMatch(ifMatch) ?? undefined; // the header schema already refused malformed values
    const rawKey = input.headers["idempotency-key"];
    const key = rawKey === undefined ? undefined : normalizeKey(rawKey);

    const { result, token } = await withTransaction(pool, async (client) => {
      if (key === undefined) return { answer: await fn(client, expected), replayed: false };
      const hash = requestFingerprint({ method: c.req.method, path: c.req.path, ifMatch, body: input.body });
      const claim = await claimKey(client, key, hash, idempotencyTtlHours);
      if (!claim.claimed)
        return { answer: orThrow(decideReplay(claim.storedHash, hash, claim.answer)), replayed: true };
      const answer = await fn(client, expected);
      await storeAnswer(client, key, answer);
      return { answer, replayed: false };
    });
    return respond(c, result.answer, token, result.replayed);
  };
}

function respond(c: Context, answer: StoredAnswer, token: string, replayed: boolean): CommandResponse {
  const headers: Record<string, string> = { "content-type": "application/json", "X-Consistency-Token": token };
  const version = answer.body.version;
  if (typeof version === "number") headers.ETag = etagOf(version);
  if (replayed) headers["Idempotent-Replayed"] = "true";
  return c.body(
    JSON.stringify({ ...answer.body, consistencyToken: token }),
    answer.status as 200,
    headers,
  ) as CommandResponse;
}
