import { readFile } from "node:fs/promises";
import { basename } from "node:path";

/** Escapes a schema.table name into the anchored regex Debezium's include lists expect. */
export function tableIncludeRegex(table: string): string {
  return table.replace(/[.*+?^${}()|[\]\\]/g, "\\$&");
}

/**
 * The tables a connector captures: its table.include.list (regexes of escaped names, as
 * tableIncludeRegex writes them), the sidecar's own heartbeat and signal tables left out.
 */
export function includedTables(config: Record<string, string>): { schema: string; table: string }[] {
  return (config["table.include.list"] ?? "")
    .split(",")
    .filter(Boolean)
    .map((re) => re.replace(/\\(.)/g, "$1"))
    .map((name) => {
      const [schema = "", table = ""] = name.split(".");
      return { schema, table };
    })
    .filter((t) => t.schema !== "sidecar" && t.table !== "sidecar_heartbeat");
}

/** The variables a connector file may use, derived from the sidecar's configuration. */
export function connectorVariables(opts: {
  databaseUrl: string;
  topicPrefix: string;
  name: string;
  tables: string[];
  heartbeatTable?: string;
}): Record<string, string> {
  const url = new URL(opts.databaseUrl);
  const id = opts.name.replace(/[^a-z0-9_]/gi, "_").toLowerCase();
  const tables = [...opts.tables, ...(opts.heartbeatTable ? [opts.heartbeatTable] : [])];
  return {
    PGHOST: url.hostname,
    PGPORT: url.port || "5432",
    PGUSER: decodeURIComponent(url.username),
    PGPASSWORD: decodeURIComponent(url.password),
    PGDATABASE: decodeURIComponent(url.pathname.replace(/^\//, "")),
    TOPIC_PREFIX: opts.topicPrefix,
    CONNECTOR_NAME: opts.name,
    SLOT_NAME: `sidecar_${id}`,
    PUBLICATION_NAME: `sidecar_${id}`,
    TABLE_INCLUDE_LIST: tables.map(tableIncludeRegex).join(","),
    HEARTBEAT_TABLE: opts.heartbeatTable ?? "",
  };
}

/** Replaces ${VAR} in every string value; an unknown variable is an error that names it. */
export function renderConnectorConfig(
  template: Record<string, unknown>,
  vars: Record<string, string>,
  source = "connector config",
): Record<string, string> {
  const out: Record<string, string> = {};
  const missing = new Set<string>();
  for (const [key, value] of Object.entries(template)) {
    if (typeof value !== "string")
      throw new Error(`${source}: "${key}" must be a string (Kafka Connect configs are strings)`);
    out[key] = value.replace(/\$\{([A-Z0-9_]+)\}/g, (_, name: string) => {
      const v = vars[name];
      if (v === undefined) missing.add(name);
      return v ?? "";
    });
  }
  if (missing.size > 0)
    throw new Error(`${source}: unknown variable(s) ${[...missing].map((m) => `\${${m}}`).join(", ")}`);
  return out;
}

export async function readConnectorFile(path: string): Promise<{ name: string; template: Record<string, unknown> }> {
  let template: unknown;
  try {
    template = JSON.parse(await readFile(path, "utf8"));
  } catch (err) {
    throw new Error(`${path}: not valid JSON (${(err as Error).message})`);
  }
  if (!template || typeof template !== "object" || Array.isArray(template)) {
    throw new Error(`${path}: must hold the connector's config object`);
  }
  return { name: basename(path, ".json"), template: template as Record<string, unknown> };
}
