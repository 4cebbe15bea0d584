import { parseColumnType, type ScalarType } from "./types.js";

/**
 * The allow-list of identifiers: the tables of the projection database and their
 * columns, read from system.tables / system.columns. Every table or column name a
 * request names must be found here before it is written (quoted) into SQL.
 */

/** Columns the projector adds to every table; hidden unless a request asks for them. */
export const INTERNAL_COLUMNS: ReadonlySet<string> = new Set(["_version", "_deleted", "_commit_ts", "_lsn"]);

/** Tables of the projector's own (progress, schema bookkeeping): names starting with `_` or `.`. */
export function isInternalTable(name: string): boolean {
  return name.startsWith("_") || name.startsWith(".");
}

export interface ColumnInfo {
  name: string;
  /** ClickHouse type as system.columns reports it. */
  type: string;
  scalar: ScalarType;
  internal: boolean;
}

export interface TableInfo {
  name: string;
  engine: string;
  columns: ColumnInfo[];
  byName: ReadonlyMap<string, ColumnInfo>;
  /** Sorting key columns (the source primary key), when they are plain column names. */
  sortingKey: string[];
  /** Replacing/Collapsing MergeTree: reads add FINAL so each key appears once, at its newest version. */
  final: boolean;
  /** Has the projector's `_deleted` flag: reads add `_deleted = 0`. */
  hasDeletedFlag: boolean;
}

export interface Catalog {
  database: string;
  tables: ReadonlyMap<string, TableInfo>;
}

export interface SystemTableRow {
  name: string;
  engine: string;
  sorting_key: string;
}
export interface SystemColumnRow {
  table: string;
  name: string;
  type: string;
}

const IDENT = /^[A-Za-z_][A-Za-z0-9_]*$/;

/** Builds the catalog from rows of system.tables and system.columns (pure). Internal tables are left out. */
export function buildCatalog(database: string, tables: SystemTableRow[], columns: SystemColumnRow[]): Catalog {
  const out = new Map<string, TableInfo>();
  for (const t of tables) {
    if (isInternalTable(t.name)) continue;
    const cols: ColumnInfo[] = columns
      .filter((c) => c.table === t.name)
      .map((c) => ({
        name: c.name,
        type: c.type,
        scalar: parseColumnType(c.type),
        internal: INTERNAL_COLUMNS.has(c.name),
      }));
    const byName = new Map(cols.map((c) => [c.name, c]));
    const sortingKey = t.sorting_key
      .replace(/^\((.*)\)$/, "$1")
      .split(",")
      .map((s) => s.trim().replace(/^`(.*)`$/, "$1"))
      .filter((s) => s.length > 0);
    out.set(t.name, {
      name: t.name,
      engine: t.engine,
      columns: cols,
      byName,
      sortingKey: sortingKey.every((k) => IDENT.test(k) && byName.has(k)) ? sortingKey : [],
      final: /(Replacing|Collapsing|VersionedCollapsing|Aggregating|Summing)MergeTree$/.test(t.engine),
      hasDeletedFlag: byName.has("_deleted"),
    });
  }
  return { database, tables: out };
}

/** What the catalog needs from ClickHouse: rows of a parameterised query. */
export type RowsFn = <T>(sql: string, params: Record<string, unknown>) => Promise<T[]>;

/**
 * Reads the catalog through `rows` and keeps it for `ttlMs` (tables appear while the
 * projector runs, so it is refreshed; a name not found forces one refresh first).
 */
export function createCatalogLoader(rows: RowsFn, database: string, ttlMs = 2_000) {
  let cached: { at: number; catalog: Catalog } | undefined;
  let inflight: Promise<Catalog> | undefined;

  async function load(): Promise<Catalog> {
    const [tables, columns] = await Promise.all([
      rows<SystemTableRow>(
        "SELECT name, engine, sorting_key FROM system.tables WHERE database = {db:String} AND NOT is_temporary ORDER BY name",
        { db: database },
      ),
      rows<SystemColumnRow>(
        "SELECT table, name, type FROM system.columns WHERE database = {db:String} ORDER BY table, position",
        { db: database },
      ),
    ]);
    return buildCatalog(database, tables, columns);
  }

  async function refresh(): Promise<Catalog> {
    inflight ??= load()
      .then((catalog) => {
        cached = { at: Date.now(), catalog };
        return catalog;
      })
      .finally(() => {
        inflight = undefined;
      });
    return inflight;
  }

  return {
    async get(): Promise<Catalog> {
      if (cached && Date.now() - cached.at < ttlMs) return cached.catalog;
      return refresh();
    },
    /** The table, refreshing once when it is not (yet) known. */
    async table(name: string): Promise<TableInfo | undefined> {
      const c = cached && Date.now() - cached.at < ttlMs ? cached.catalog : await refresh();
      const t = c.tables.get(name);
      if (t) return t;
      if (cached && cached.catalog === c && Date.now() - cached.at < 200) return undefined;
      return (await refresh()).tables.get(name);
    },
  };
}

export type CatalogLoader = ReturnType<typeof createCatalogLoader>;
