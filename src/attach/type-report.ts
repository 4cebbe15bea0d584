import type { PgPool } from "../shared/postgres.js";
import { type CatalogColumn, readCatalog } from "./catalog.js";
import type { Check } from "./preflight.js";
import { type TableRef, tableName } from "./tables.js";

/**
 * Preflight's type report: per attached table, the columns that do not land in a native ClickHouse
 * type as they are in Postgres, and what happens to them (docs/types.md has the whole table).
 * Never a silent change: whatever is not exact is named here before attach creates anything.
 */
export interface TypeNote {
  column: string;
  /** format_type() of the column. */
  type: string;
  what: string;
}

const TEXT_FORM = new Set([
  "json",
  "jsonb",
  "xml",
  "interval",
  "inet",
  "cidr",
  "macaddr",
  "macaddr8",
  "tsvector",
  "tsquery",
  "point",
  "line",
  "lseg",
  "box",
  "path",
  "polygon",
  "circle",
  "bit",
  "ltree",
  "citext",
  "money",
]);

const TEMPORAL = new Set(["date", "timestamp", "timestamptz"]);
const OUT_OF_RANGE =
  "±infinity and values before 1900-01-01 or after 2299-12-31 have no ClickHouse Date32/DateTime64 form: a change carrying one is refused (dead-lettered), never stored as another value";

/** What happens to a generated column (catalog.ts leaves them out of the projection). */
export const GENERATED_NOTE =
  "generated column: not projected (PostgreSQL before 18 leaves generated columns out of logical replication, so no streamed change carries its value); compute it in the query";

/** Seen on the real stack (Debezium 3): arrays of enums and domains. */
const ARRAY_OF_USER_TYPE =
  " (Debezium limits: a NULL element makes the whole array NULL, and an incremental snapshot — attach --add, repair — of this table has been seen not to finish)";

/** What happens to one column; undefined when it lands natively and exactly. */
export function columnNote(c: CatalogColumn): string | undefined {
  const notes: string[] = [];
  const type = c.elemType ?? c.baseType;
  const kind = c.elemType ? c.elemKind : c.baseKind;
  if (c.elemType && c.elemOwnKind === "d") {
    notes.push(
      `array of a domain: each element is stored as the hex of its text form (Debezium sends them as bytes)${ARRAY_OF_USER_TYPE}`,
    );
  } else if (kind === "c") {
    notes.push("composite: stored as the hex of its text form (Debezium sends it as bytes; unhex() reads it)");
  } else if (type === "numeric") {
    const { scaled } = numericShape(c.elemType ? -1 : c.typmod);
    if (c.elemType) notes.push("array of numeric: elements stored as exact decimal text");
    else if (scaled && c.typeName === "numeric")
      notes.push(
        "Decimal: NaN (allowed in any Postgres numeric) has no Decimal form: a change carrying it is refused (dead-lettered)",
      );
    else notes.push("stored as exact decimal text (String), NaN and ±Infinity as Postgres writes them");
  } else if (TEMPORAL.has(type)) {
    notes.push(OUT_OF_RANGE);
  } else if (type === "timetz") {
    notes.push("stored as text of the UTC time ('06:30:00Z'): Debezium does not carry the offset");
  } else if (type === "varbit") {
    notes.push("stored as its bit text without leading zeros: Debezium does not carry a varbit's length");
  } else if (type === "hstore") {
    notes.push("stored as a JSON object text (hstore.handling.mode=json)");
  } else if (type === "bit" && c.typmod === 1 && !c.elemType) {
    notes.push("bit(1) is a boolean to Debezium: Bool");
  } else if (TEXT_FORM.has(type) || /range$/.test(type) || kind === "r" || kind === "m") {
    notes.push("stored as its text form (String)");
  }
  if (c.elemType && kind === "e") notes.push(`array of an enum: Array(String) of labels${ARRAY_OF_USER_TYPE}`);
  return notes.length ? notes.join("; ") : undefined;
}

function numericShape(typmod: number): { scaled: boolean } {
  return { scaled: typmod >= 4 };
}

export async function typeNotes(pool: PgPool, ref: TableRef, _serverVersion: number): Promise<TypeNote[]> {
  const cat = await readCatalog(pool, ref);
  const out: TypeNote[] = [];
  for (const c of cat.columns) {
    const what = columnNote(c);
    if (what) out.push({ column: c.name, type: c.formatted, what });
  }
  for (const c of cat.generatedColumns) out.push({ column: c.name, type: c.formatted, what: GENERATED_NOTE });
  return out;
}

/** One warn check per table that has such columns. */
export async function typeChecks(pool: PgPool, refs: TableRef[], serverVersion: number): Promise<Check[]> {
  const checks: Check[] = [];
  for (const ref of refs) {
    // A table this user may not read (no USAGE on its schema) is reported by the privilege checks.
    const notes = await typeNotes(pool, ref, serverVersion).catch((err: { code?: string }) => {
      if (err.code === "42501") return [];
      throw err;
    });
    if (!notes.length) continue;
    checks.push({
      id: `types:${tableName(ref)}`,
      ok: false,
      severity: "warn",
      message: [
        `${tableName(ref)}: ${notes.length} column(s) not in a native ClickHouse type as they are in Postgres (docs/types.md):`,
        ...notes.map((n) => `        ${n.column} (${n.type}): ${n.what}`),
      ].join("\n"),
    });
  }
  return checks;
}
