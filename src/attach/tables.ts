/** Parsing of the table selection an attach is given: `schema.table` names, or whole schemas. */
const IDENT = /^[A-Za-z_][A-Za-z0-9_$]*$/;

export interface TableRef {
  schema: string;
  table: string;
}

export function parseTableRef(text: string): TableRef {
  const parts = text.trim().split(".");
  if (parts.length !== 2 || !parts.every((p) => IDENT.test(p))) {
    throw new Error(`"${text}" is not a schema.table name (letters, digits, _ and $; e.g. public.orders)`);
  }
  return { schema: parts[0]!, table: parts[1]! };
}

export const tableName = (t: TableRef) => `${t.schema}.${t.table}`;
/** Quoted for SQL; names are validated by parseTableRef or come from the catalog. */
export const quoteIdent = (s: string) => `"${s.replace(/"/g, '""')}"`;
export const quoteTable = (t: TableRef) => `${quoteIdent(t.schema)}.${quoteIdent(t.table)}`;

export function parseTableList(text: string): TableRef[] {
  const refs = text
    .split(",")
    .map((s) => s.trim())
    .filter(Boolean)
    .map(parseTableRef);
  const seen = new Set<string>();
  return refs.filter((r) => !seen.has(tableName(r)) && seen.add(tableName(r)));
}

/** Names for everything an attachment creates, derived from its name so detach finds them again. */
export function attachNames(name: string) {
  if (!/^[a-z][a-z0-9_]{0,40}$/.test(name)) {
    throw new Error(
      `attachment name "${name}" must be lower-case letters, digits and _ (start with a letter, at most 41)`,
    );
  }
  return {
    connector: `attach_${name}`,
    slot: `sidecar_attach_${name}`,
    publication: `sidecar_attach_${name}`,
    topicPrefix: name,
    /**
     * Debezium's signal table, one per attachment: an incremental snapshot writes its window
     * markers there, and every connector of the database would read a shared one's (they
     * ignored each other's windows, and a snapshot could end with no rows).
     */
    signal: { schema: "sidecar", table: `signal_${name}` } as TableRef,
    heartbeatTable: "sidecar.heartbeat",
  };
}
