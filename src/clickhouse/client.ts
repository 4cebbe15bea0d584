import { type ClickHouseClient, type ClickHouseSettings, createClient } from "@clickhouse/client";

/**
 * The one ClickHouse client factory, same calls either way:
 * - `http(s)://user:pass@host:8123[/db]` → @clickhouse/client over HTTP (a ClickHouse server, 25.8+).
 * - absent or `chdb:PATH` → embedded chDB (a real ClickHouse 26.x engine in this process), loaded by
 *   dynamic import only then, so a server deployment does not need the optional `chdb` package.
 *
 * One embedded data directory belongs to one process (a second process opening it fails with
 * "Cannot lock file …/status"); within a process, `openClickHouse` hands out one shared client per path.
 *
 * JSON differences between the two transports (chDB writes 64-bit integers and decimals as JSON
 * numbers, a server quotes 64-bit integers) are removed by the settings below, which both honour:
 * every 64-bit integer and every decimal comes back as a JSON string. Callers convert with
 * the helpers at the end of this file, never with Number() on raw values.
 */
export const NORMALISED_JSON_SETTINGS: ClickHouseSettings = {
  output_format_json_quote_64bit_integers: 1,
  output_format_json_quote_decimals: 1,
  // Keep 64-bit floats as numbers, as both transports already do.
  output_format_json_quote_64bit_floats: 0,
  // NaN and ±Infinity as "nan"/"inf"/"-inf": JSON has no number for them, and the default (null)
  // would read as a missing value (a dashboard would show NULL for a NaN in Postgres).
  output_format_json_quote_denormals: 1,
  // Decimals keep their scale ("12.50", not "12.5"), so they read back as written.
  output_format_decimal_trailing_zeros: 1,
};

export type ClickHouse = ClickHouseClient;

export interface ClickHouseTarget {
  kind: "http" | "chdb";
  /** http: the URL; chdb: the absolute data directory. */
  location: string;
}

export function parseClickHouseUrl(url: string | undefined, cwd = process.cwd()): ClickHouseTarget {
  if (url === undefined || url === "") return { kind: "chdb", location: resolvePath(".stack/chdb", cwd) };
  if (/^https?:\/\//.test(url)) return { kind: "http", location: url };
  if (url.startsWith("chdb:")) {
    const path = url.slice("chdb:".length);
    if (path === "" || path === ":memory:") return { kind: "chdb", location: ":memory:" };
    return { kind: "chdb", location: resolvePath(path, cwd) };
  }
  throw new Error(`CLICKHOUSE_URL must be http(s)://… or chdb:PATH, got "${url}"`);
}

function resolvePath(path: string, cwd: string): string {
  return path.startsWith("/") ? path : `${cwd.replace(/\/$/, "")}/${path}`;
}

const embedded = new Map<string, { client: ClickHouseClient; refs: number }>();

/** Whether this process has the embedded ClickHouse at this location open (it holds its lock). */
export function openedHere(url: string | undefined): boolean {
  return embedded.has(parseClickHouseUrl(url).location);
}

/**
 * Opens ClickHouse. For chDB the same client is shared by every caller in this process that
 * asks for the same path (closing is reference counted).
 */
export async function openClickHouse(
  url: string | undefined,
  opts: { requestTimeoutMs?: number } = {},
): Promise<ClickHouse> {
  const target = parseClickHouseUrl(url);
  if (target.kind === "http") {
    return createClient({
      url: target.location,
      request_timeout: opts.requestTimeoutMs ?? 60_000,
      clickhouse_settings: NORMALISED_JSON_SETTINGS,
      compression: { request: false, response: true },
    });
  }
  const shared = embedded.get(target.location);
  if (shared) {
    shared.refs++;
    return refCounted(shared.client, target.location);
  }
  if (target.location !== ":memory:") {
    const { mkdir } = await import("node:fs/promises");
    await mkdir(target.location, { recursive: true });
  }
  let mod: typeof import("chdb/connection");
  try {
    mod = await import("chdb/connection");
  } catch (err) {
    throw new Error(
      `embedded ClickHouse needs the optional package "chdb" (npm install chdb), or set CLICKHOUSE_URL=http(s)://… (${(err as Error).message})`,
    );
  }
  const connection = mod.createChdbConnection({ path: target.location });
  const client = createClient({
    // chdb's Connection implements @clickhouse/client-common's contract; its type comes from its own copy.
    connection: connection as never,
    clickhouse_settings: NORMALISED_JSON_SETTINGS,
  });
  rawInserts.set(client, (p) => connection.chdb.rawInsert(p).then(() => undefined));
  embedded.set(target.location, { client, refs: 1 });
  return refCounted(client, target.location);
}

/** A raw bytes insert (chDB only): the Buffer goes to chDB's parser zero-copy, no string made of it. */
export type RawInsert = (p: {
  table: string;
  values: Buffer;
  format: "JSONEachRow";
  settings?: Record<string, string | number>;
}) => Promise<void>;
const rawInserts = new WeakMap<ClickHouseClient, RawInsert>();

/** The chDB raw insert behind an embedded client; undefined for a server. */
export function rawInsertOf(ch: ClickHouse): RawInsert | undefined {
  return rawInserts.get(ch);
}

function refCounted(client: ClickHouseClient, key: string): ClickHouseClient {
  const proxy = new Proxy(client, {
    get(target, prop, receiver) {
      if (prop === "close") {
        return async () => {
          const entry = embedded.get(key);
          if (!entry) return;
          entry.refs--;
          if (entry.refs <= 0) {
            embedded.delete(key);
            await target.close();
          }
        };
      }
      const value = Reflect.get(target, prop, receiver);
      return typeof value === "function" ? value.bind(target) : value;
    },
  });
  const raw = rawInserts.get(client);
  if (raw) rawInserts.set(proxy, raw);
  return proxy;
}

/** Runs a query and returns its rows (JSONEachRow), with typed parameters. */
export async function queryRows<T = Record<string, unknown>>(
  ch: ClickHouse,
  query: string,
  params: Record<string, unknown> = {},
): Promise<T[]> {
  const rs = await ch.query({ query, query_params: params, format: "JSONEachRow" });
  return rs.json<T>();
}

/**
 * 64-bit integers as bigint whatever the transport gave (string with the settings above, a
 * number from an older chDB); a number that is not a safe integer is rejected, not rounded.
 */
export function toBigInt(value: unknown): bigint {
  if (typeof value === "bigint") return value;
  if (typeof value === "string" && /^-?\d+$/.test(value)) return BigInt(value);
  if (typeof value === "number" && Number.isSafeInteger(value)) return BigInt(value);
  throw new Error(`not an exact 64-bit integer from ClickHouse: ${JSON.stringify(value)}`);
}

/** Decimals as their exact decimal text. */
export function toDecimalString(value: unknown): string {
  if (typeof value === "string") return value;
  if (typeof value === "number" && Number.isFinite(value)) return String(value);
  throw new Error(`not a decimal from ClickHouse: ${JSON.stringify(value)}`);
}

/** Backquotes an identifier for ClickHouse SQL (identifiers only; values always travel as parameters). */
export function quoteIdent(name: string): string {
  return `\`${name.replace(/\\/g, "\\\\").replace(/`/g, "\\`")}\``;
}
