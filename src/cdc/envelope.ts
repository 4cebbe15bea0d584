import { z } from "zod";
import { binlogVersion, isBinlogSource } from "./binlog-version.js";

/**
 * Debezium change events as Kafka Connect's JsonConverter writes them with schemas:
 * every message is { schema, payload }. Only what the projector relies on is checked;
 * unknown fields pass through.
 */
export interface ConnectSchema {
  type: string;
  optional?: boolean;
  name?: string;
  version?: number;
  parameters?: Record<string, string>;
  field?: string;
  fields?: ConnectSchema[];
  items?: ConnectSchema;
  keys?: ConnectSchema;
  values?: ConnectSchema;
  default?: unknown;
}

export const connectSchema: z.ZodType<ConnectSchema> = z.lazy(() =>
  z
    .object({
      type: z.string(),
      optional: z.boolean().optional(),
      name: z.string().optional(),
      version: z.number().optional(),
      parameters: z.record(z.string(), z.string()).optional(),
      field: z.string().optional(),
      fields: z.array(connectSchema).optional(),
      items: connectSchema.optional(),
      keys: connectSchema.optional(),
      values: connectSchema.optional(),
      default: z.unknown().optional(),
    })
    .loose(),
);

/** A 64-bit integer that may arrive as a number or (past 2^53, see parseJsonExact) a string. */
const int64 = z.union([z.number().int(), z.string().regex(/^-?\d+$/)]).transform((v) => BigInt(v));

export const sourceSchema = z
  .object({
    connector: z.string().optional(),
    name: z.string().optional(),
    db: z.string().optional(),
    /** Absent for MySQL and MariaDB: their `db` is the schema (see toChangeEvent). */
    schema: z.string().optional(),
    table: z.string(),
    lsn: int64.nullish(),
    sequence: z.string().nullish(),
    ts_us: int64.optional(),
    ts_ms: int64,
    snapshot: z.union([z.string(), z.boolean()]).nullish(),
    txId: int64.nullish(),
  })
  .loose();

export const envelopePayloadSchema = z
  .object({
    before: z.record(z.string(), z.unknown()).nullable().optional(),
    after: z.record(z.string(), z.unknown()).nullable().optional(),
    source: sourceSchema,
    op: z.enum(["r", "c", "u", "d", "t", "m"]),
    ts_ms: z.number().nullish(),
  })
  .loose();

export const valueMessageSchema = z.object({
  schema: connectSchema,
  payload: envelopePayloadSchema,
});

export const keyMessageSchema = z.object({
  schema: connectSchema,
  payload: z.record(z.string(), z.unknown()),
});

export type EnvelopePayload = z.infer<typeof envelopePayloadSchema>;
export type ValueMessage = z.infer<typeof valueMessageSchema>;
export type KeyMessage = z.infer<typeof keyMessageSchema>;

export interface ChangeEvent {
  op: EnvelopePayload["op"];
  schema: string;
  table: string;
  lsn: bigint;
  /** Source commit time in microseconds since the epoch (ts_us, or ts_ms * 1000). */
  commitTsUs: bigint;
  snapshot: boolean;
  before: Record<string, unknown> | null;
  after: Record<string, unknown> | null;
  /** The row struct's schema (fields of before/after); absent for truncate. */
  rowSchema: ConnectSchema | undefined;
  /** Key fields and values (absent for truncate and for tables without a primary key). */
  key: KeyMessage | undefined;
}

export class EnvelopeError extends Error {
  constructor(
    readonly kind: "not-json" | "not-envelope" | "no-key" | "unconvertible" | "unsupported-type",
    message: string,
  ) {
    super(message);
    this.name = "EnvelopeError";
  }
}

/**
 * The event's LSN. Incremental snapshot reads (attach --add, source.snapshot = "incremental") carry
 * no source.lsn; their source.sequence ["<last committed LSN>", "<current LSN>"] is the stream
 * position when the chunk was emitted. Debezium drops a chunk's row when the row changed inside the
 * chunk's window, so every earlier change of the key has a lower LSN and every later one a higher
 * LSN than that position: it is the row's version.
 */
export function incrementalSnapshotLsn(lsn: unknown, sequence: unknown): bigint {
  if (typeof lsn === "bigint") return lsn;
  if ((lsn === null || lsn === undefined) && typeof sequence === "string") {
    let parts: unknown;
    try {
      parts = JSON.parse(sequence);
    } catch {
      parts = undefined;
    }
    if (Array.isArray(parts)) {
      const last = [...parts].reverse().find((x) => typeof x === "string" && /^\d+$/.test(x));
      if (typeof last === "string") return BigInt(last);
    }
  }
  throw new EnvelopeError("not-envelope", "not a Debezium envelope: source.lsn is not an integer");
}

/** Parsed value (and key) → a change event; throws EnvelopeError naming what is wrong. */
export function toChangeEvent(value: unknown, key: unknown): ChangeEvent {
  const parsed = valueMessageSchema.safeParse(value);
  if (!parsed.success) {
    const issue = parsed.error.issues[0];
    throw new EnvelopeError(
      "not-envelope",
      `not a Debezium envelope: ${issue?.path.join(".") || "(root)"}: ${issue?.message}`,
    );
  }
  const { schema, payload } = parsed.data;
  let keyMsg: KeyMessage | undefined;
  if (key !== null && key !== undefined) {
    const k = keyMessageSchema.safeParse(key);
    if (!k.success) throw new EnvelopeError("not-envelope", "message key is not a Connect {schema, payload} struct");
    keyMsg = k.data;
  }
  const rowSchema = schema.fields?.find((f) => f.field === "after" || f.field === "before");
  const src = payload.source;
  const binlog = isBinlogSource(src);
  const schemaName = binlog ? src.db : src.schema;
  if (schemaName === undefined)
    throw new EnvelopeError("not-envelope", `not a Debezium envelope: source.${binlog ? "db" : "schema"} is missing`);
  return {
    op: payload.op,
    schema: schemaName,
    table: src.table,
    lsn: binlog ? binlogVersion(src) : incrementalSnapshotLsn(src.lsn, src.sequence),
    commitTsUs: src.ts_us ?? src.ts_ms * 1000n,
    snapshot: src.snapshot !== undefined && src.snapshot !== null && src.snapshot !== "false" && src.snapshot !== false,
    before: payload.before ?? null,
    after: payload.after ?? null,
    rowSchema,
    key: keyMsg,
  };
}
