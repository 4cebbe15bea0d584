import { binlogVersion, isBinlogSource } from "./binlog-version.js";
import {
  type ChangeEvent,
  type ConnectSchema,
  connectSchema,
  EnvelopeError,
  envelopePayloadSchema,
  incrementalSnapshotLsn,
  type KeyMessage,
} from "./envelope.js";
import { parseJsonExact } from "./json.js";

/**
 * Fast decoding of JsonConverter messages ({"schema":…,"payload":…}). Every message repeats its
 * schema (several KB with propagated source types), so the schema text is split off, parsed and
 * validated once, and looked up by its exact text afterwards; only the payload is parsed per
 * message. A quote inside a JSON string is always escaped, so the raw text `,"payload":` can only
 * be the envelope's own key; anything unexpected falls back to parsing the whole message.
 */
export interface CachedSchema {
  id: number;
  /** The schema's JSON text as bytes, for a byte-level match against the next message. */
  bytes: Buffer;
  schema: ConnectSchema;
  /** The row struct (before/after) of a value schema. */
  rowSchema: ConnectSchema | undefined;
}

export class SchemaCache {
  private readonly byText = new Map<string, CachedSchema>();
  /** Most recently used entries, checked by byte comparison before any text is decoded. */
  readonly recent: CachedSchema[] = [];
  private nextId = 1;

  constructor(private readonly max = 1000) {}

  get(text: string): CachedSchema | undefined {
    return this.byText.get(text);
  }

  add(text: string, schema: ConnectSchema): CachedSchema {
    if (this.byText.size >= this.max) this.byText.clear();
    const rowSchema = schema.fields?.find((f) => f.field === "after" || f.field === "before");
    const entry = { id: this.nextId++, bytes: Buffer.from(text, "utf8"), schema, rowSchema };
    this.byText.set(text, entry);
    this.touch(entry);
    return entry;
  }

  touch(entry: CachedSchema): void {
    const i = this.recent.indexOf(entry);
    if (i === 0) return;
    if (i > 0) this.recent.splice(i, 1);
    this.recent.unshift(entry);
    if (this.recent.length > 16) this.recent.pop();
  }
}

const SCHEMA_HEAD = '{"schema":';
const PAYLOAD_KEY = ',"payload":';

interface Split {
  schema: CachedSchema;
  payload: unknown;
}

const HEAD_BYTES = Buffer.from(SCHEMA_HEAD);
const PAYLOAD_BYTES = Buffer.from(PAYLOAD_KEY);

/** Fast path: the message repeats a schema seen recently; only the payload bytes are decoded. */
function splitKnown(buf: Buffer, cache: SchemaCache, what: "value" | "key"): Split | undefined {
  const h = HEAD_BYTES.length;
  if (buf.length < h || buf.compare(HEAD_BYTES, 0, h, 0, h) !== 0) return undefined;
  for (const entry of cache.recent) {
    const len = entry.bytes.length;
    const end = h + len;
    if (buf.length <= end + PAYLOAD_BYTES.length) continue;
    if (buf.compare(entry.bytes, 0, len, h, end) !== 0) continue;
    if (buf.compare(PAYLOAD_BYTES, 0, PAYLOAD_BYTES.length, end, end + PAYLOAD_BYTES.length) !== 0) continue;
    if (buf[buf.length - 1] !== 0x7d) continue;
    let payload: unknown;
    try {
      payload = parsePayload(buf.toString("utf8", end + PAYLOAD_BYTES.length, buf.length - 1), what);
    } catch (err) {
      throw new EnvelopeError("not-json", `${what} is not JSON: ${(err as Error).message}`);
    }
    cache.touch(entry);
    return { schema: entry, payload };
  }
  return undefined;
}

/**
 * JSON.parse, and the exact parser only if a number that matters lost precision: an integer
 * past 2^53 in before/after (bigint columns, nano timestamps) or in source.lsn/ts_us. (ts_ns,
 * always past 2^53, is not used.)
 */
function parsePayload(text: string, what: "value" | "key"): unknown {
  const v = JSON.parse(text) as Record<string, unknown> | null;
  if (!v || typeof v !== "object") return v;
  const lossy =
    what === "key"
      ? hasUnsafeInt(v)
      : hasUnsafeInt(v.before) ||
        hasUnsafeInt(v.after) ||
        (typeof v.source === "object" &&
          v.source !== null &&
          (hasUnsafeInt((v.source as Record<string, unknown>).lsn) ||
            hasUnsafeInt((v.source as Record<string, unknown>).ts_us)));
  return lossy ? parseJsonExact(text) : v;
}

function hasUnsafeInt(v: unknown): boolean {
  if (typeof v === "number") return Number.isInteger(v) && !Number.isSafeInteger(v);
  if (v === null || typeof v !== "object") return false;
  if (Array.isArray(v)) {
    for (const x of v) if (hasUnsafeInt(x)) return true;
    return false;
  }
  for (const k in v) if (hasUnsafeInt((v as Record<string, unknown>)[k])) return true;
  return false;
}

function splitBuffer(buf: Buffer, cache: SchemaCache, what: "value" | "key"): Split {
  return splitKnown(buf, cache, what) ?? splitMessage(buf.toString("utf8"), cache, what);
}

function splitMessage(text: string, cache: SchemaCache, what: "value" | "key"): Split {
  const at = text.startsWith(SCHEMA_HEAD) ? text.indexOf(PAYLOAD_KEY) : -1;
  if (at > 0 && text.endsWith("}")) {
    const schemaText = text.slice(SCHEMA_HEAD.length, at);
    let schema = cache.get(schemaText);
    if (!schema) {
      let parsed: unknown;
      try {
        parsed = JSON.parse(schemaText);
      } catch {
        parsed = undefined;
      }
      const ok = connectSchema.safeParse(parsed);
      if (ok.success) schema = cache.add(schemaText, ok.data);
    }
    if (schema) {
      cache.touch(schema);
      let payload: unknown;
      try {
        payload = parsePayload(text.slice(at + PAYLOAD_KEY.length, -1), what);
      } catch (err) {
        throw new EnvelopeError("not-json", `${what} is not JSON: ${(err as Error).message}`);
      }
      return { schema, payload };
    }
  }
  // Slow path: parse everything and say precisely what is wrong.
  let whole: unknown;
  try {
    whole = parseJsonExact(text);
  } catch (err) {
    throw new EnvelopeError("not-json", `${what} is not JSON: ${(err as Error).message}`);
  }
  const w = whole as { schema?: unknown; payload?: unknown } | null;
  if (!w || typeof w !== "object" || !("payload" in w)) {
    throw new EnvelopeError("not-envelope", `not a Debezium envelope: ${what} has no {schema, payload}`);
  }
  const s = connectSchema.safeParse(w.schema);
  if (!s.success)
    throw new EnvelopeError("not-envelope", `not a Debezium envelope: ${what} schema is not a Connect schema`);
  return {
    schema: {
      id: 0,
      bytes: Buffer.alloc(0),
      schema: s.data,
      rowSchema: s.data.fields?.find((f) => f.field === "after" || f.field === "before"),
    },
    payload: w.payload,
  };
}

const OPS = new Set(["r", "c", "u", "d", "t", "m"]);
const INT = /^-?\d+$/;

function int64(v: unknown, name: string): bigint {
  if (typeof v === "number" && Number.isSafeInteger(v)) return BigInt(v);
  if (typeof v === "string" && INT.test(v)) return BigInt(v);
  throw new EnvelopeError("not-envelope", `not a Debezium envelope: source.${name} is not an integer`);
}

function isRecordOrNull(v: unknown): v is Record<string, unknown> | null | undefined {
  return v === null || v === undefined || (typeof v === "object" && !Array.isArray(v));
}

export interface DecodedEvent extends ChangeEvent {
  valueSchemaId: number;
  keySchemaId: number;
}

/**
 * Schemas named by id rather than written into each message (the sidecar's Connect converter puts
 * the id in a header and the schema once in a schema topic): parsed once per id.
 */
export class SchemasById {
  private readonly byId = new Map<string, CachedSchema>();
  // Ids of their own range, so a shape cache keyed by schema ids never mixes the two kinds.
  private nextId = 1_000_000_000;

  /** The schema of `id`, from its JSON text (given when the id may be new); undefined if unknown or not a schema. */
  get(id: string, text: string | undefined): CachedSchema | undefined {
    const known = this.byId.get(id);
    if (known || text === undefined) return known;
    let parsed: unknown;
    try {
      parsed = JSON.parse(text);
    } catch {
      return undefined;
    }
    const ok = connectSchema.safeParse(parsed);
    if (!ok.success) return undefined;
    if (this.byId.size > 10_000) this.byId.clear();
    const rowSchema = ok.data.fields?.find((f) => f.field === "after" || f.field === "before");
    const entry = { id: this.nextId++, bytes: Buffer.alloc(0), schema: ok.data, rowSchema };
    this.byId.set(id, entry);
    return entry;
  }
}

/** A message's payload alone (its schema came by id). */
function keyPayload(payload: unknown): Record<string, unknown> {
  if (!payload || typeof payload !== "object")
    throw new EnvelopeError("not-envelope", "message key is not a Connect {schema, payload} struct");
  return payload as Record<string, unknown>;
}

/** A message key whose schema is known by id; its JSON is parsed on first read (throws EnvelopeError then). */
class NamedKey implements KeyMessage {
  private parsed: Record<string, unknown> | undefined;
  constructor(
    private readonly bytes: Buffer,
    private readonly named: CachedSchema,
  ) {}
  get schema(): KeyMessage["schema"] {
    return this.named.schema;
  }
  get payload(): Record<string, unknown> {
    this.parsed ??= keyPayload(splitNamed(this.bytes, this.named, "key").payload);
    return this.parsed;
  }
}

function splitNamed(buf: Buffer, schema: CachedSchema, what: "value" | "key"): Split {
  try {
    // toString() without arguments is UTF-8 straight away; naming the encoding costs a lookup per message.
    return { schema, payload: parsePayload(buf.toString(), what) };
  } catch (err) {
    throw new EnvelopeError("not-json", `${what} is not JSON: ${(err as Error).message}`);
  }
}

/**
 * Decodes one Kafka message (value and key bytes) into a change event; throws EnvelopeError.
 * `named`: the value's and key's schemas when the message carries only their ids.
 */
export function decodeChangeEvent(
  value: Buffer,
  key: Buffer | null,
  cache: SchemaCache,
  named: { value?: CachedSchema; key?: CachedSchema } = {},
): DecodedEvent {
  const v = named.value ? splitNamed(value, named.value, "value") : splitBuffer(value, cache, "value");
  const p = v.payload as Record<string, unknown> | null;
  if (!p || typeof p !== "object")
    throw new EnvelopeError("not-envelope", "not a Debezium envelope: payload is not an object");
  const src = p.source as Record<string, unknown> | undefined;
  // MySQL and MariaDB have no schemas: their database (source.db) takes the schema's place.
  const binlog = !!src && typeof src === "object" && isBinlogSource(src);
  const schemaName = binlog ? src?.db : src?.schema;
  if (!src || typeof src !== "object" || typeof schemaName !== "string" || typeof src.table !== "string") {
    // Let zod name the first problem.
    const r = envelopePayloadSchema.safeParse(p);
    const issue = r.success ? undefined : r.error.issues[0];
    throw new EnvelopeError(
      "not-envelope",
      `not a Debezium envelope: ${issue ? `${issue.path.join(".")}: ${issue.message}` : "source"}`,
    );
  }
  const op = p.op;
  if (typeof op !== "string" || !OPS.has(op))
    throw new EnvelopeError("not-envelope", `not a Debezium envelope: op ${JSON.stringify(op)}`);
  if (!isRecordOrNull(p.before) || !isRecordOrNull(p.after)) {
    throw new EnvelopeError("not-envelope", "not a Debezium envelope: before/after are not objects");
  }
  const lsn = binlog
    ? binlogVersion(src)
    : src.lsn === null || src.lsn === undefined
      ? incrementalSnapshotLsn(src.lsn, src.sequence)
      : int64(src.lsn, "lsn");
  const commitTsUs =
    src.ts_us !== undefined && src.ts_us !== null ? int64(src.ts_us, "ts_us") : int64(src.ts_ms, "ts_ms") * 1000n;
  let keyMsg: ChangeEvent["key"];
  let keySchemaId = 0;
  if (key !== null && key.length > 0 && named.key) {
    // Only a delete reads the key's values; a key named by id is parsed when (if) it is read.
    keyMsg = new NamedKey(key, named.key);
    keySchemaId = named.key.id;
  } else if (key !== null && key.length > 0) {
    const k = splitBuffer(key, cache, "key");
    keyMsg = { schema: k.schema.schema, payload: keyPayload(k.payload) };
    keySchemaId = k.schema.id;
  }
  const snap = src.snapshot;
  return {
    op: op as ChangeEvent["op"],
    schema: schemaName,
    table: src.table,
    lsn,
    commitTsUs,
    snapshot: snap !== undefined && snap !== null && snap !== "false" && snap !== false,
    before: (p.before as Record<string, unknown> | null | undefined) ?? null,
    after: (p.after as Record<string, unknown> | null | undefined) ?? null,
    rowSchema: v.schema.rowSchema,
    key: keyMsg,
    valueSchemaId: v.schema.id,
    keySchemaId,
  };
}
