/**
 * CSV (RFC 4180) of the rows the read API returns, written like Postgres's `COPY … (FORMAT csv,
 * HEADER)` so an export compares with the source: NULL is an empty field, an empty string is `""`,
 * a field with a comma, quote, CR or LF is quoted with quotes doubled; lines end with LF.
 * Values arrive as ClickHouse's normalised JSON (64-bit integers and decimals already exact
 * strings); arrays, maps and tuples are written as JSON. Pure code.
 */

/** One CSV field. */
export function csvField(value: unknown): string {
  if (value === null || value === undefined) return "";
  let text: string;
  if (typeof value === "string") {
    if (value === "") return '""';
    text = value;
  } else if (typeof value === "number" || typeof value === "boolean" || typeof value === "bigint") {
    text = Object.is(value, -0) ? "-0" : String(value); // as COPY writes a float8 -0 (String(-0) is "0")
  } else {
    text = JSON.stringify(value);
  }
  return /[",\r\n]/.test(text) ? `"${text.replace(/"/g, '""')}"` : text;
}

export function csvLine(values: readonly unknown[]): string {
  return `${values.map(csvField).join(",")}\n`;
}

/** The last line of an export that stopped at the row cap: a comment line, so no row is ever mistaken for it. */
export function truncatedLine(cap: number): string {
  return `# truncated: more than ${cap} rows match; this file holds the first ${cap} (READ_MAX_ROWS). Narrow the filter.\n`;
}
