import { type BuiltRow, foldRow, LineRow } from "./rows.js";

/**
 * A table's rows of one batch as JSONEachRow lines in one byte buffer, each line ended by "\n".
 * The decode worker writes each row's line into the buffer as soon as it is built
 * (RowLinesBuilder), so a batch's rows never live as thousands of strings and objects; the
 * buffer crosses to the main thread transferred, and goes to ClickHouse as it is (RowLines).
 */
export class RowLines {
  /** Start of each line in `body`, and the end of the last; computed when first needed (splitting). */
  private starts: Int32Array | undefined;

  /**
   * @param body the lines, each ended by "\n" (JSON escapes a newline inside a value, so "\n" only ends lines)
   * @param indexes per line, the position of its message in the Kafka batch
   */
  constructor(
    readonly body: Buffer,
    readonly indexes: Int32Array,
  ) {}

  /** Lines given as strings (no "\n" inside), e.g. rows filled in on the main thread. */
  static of(lines: readonly string[], indexes: readonly number[]): RowLines {
    if (lines.length !== indexes.length) throw new Error("one message index per line");
    const body = lines.length === 0 ? Buffer.alloc(0) : Buffer.from(`${lines.join("\n")}\n`, "utf8");
    return new RowLines(body, Int32Array.from(indexes));
  }

  get count(): number {
    return this.indexes.length;
  }

  /** These lines, then `lines` (a new RowLines; this one is left as it is). */
  append(lines: readonly string[], indexes: readonly number[]): RowLines {
    if (lines.length === 0) return this;
    const more = RowLines.of(lines, indexes);
    const all = new Int32Array(this.count + more.count);
    all.set(this.indexes, 0);
    all.set(more.indexes, this.count);
    return new RowLines(Buffer.concat([this.body, more.body]), all);
  }

  /** Lines [from, to) as RowLines sharing this one's bytes. */
  slice(from: number, to: number): RowLines {
    const starts = this.lineStarts();
    const a = Math.max(0, Math.min(from, this.count));
    const b = Math.max(a, Math.min(to, this.count));
    return new RowLines(this.body.subarray(starts[a] as number, starts[b] as number), this.indexes.subarray(a, b));
  }

  /** The lines as strings (tests, diagnostics). */
  lines(): string[] {
    if (this.count === 0) return [];
    return this.body.toString("utf8", 0, this.body.length - 1).split("\n");
  }

  private lineStarts(): Int32Array {
    if (this.starts) return this.starts;
    const starts = new Int32Array(this.count + 1);
    let at = 0;
    for (let i = 0; i < this.count; i++) {
      starts[i] = at;
      const nl = this.body.indexOf(0x0a, at);
      if (nl < 0) throw new Error(`row lines: ${this.count} rows but ${i} line ends`);
      at = nl + 1;
    }
    starts[this.count] = at;
    this.starts = starts;
    return starts;
  }
}

/** A row (BuiltRow) whose line is already written into a RowLinesBuilder's buffer. */
class WrittenLine implements BuiltRow {
  readonly deleted = false;
  private parsed: Record<string, unknown> | undefined;

  constructor(
    private readonly owner: RowLinesBuilder,
    /** Byte range of the line in the owner's buffer, "\n" excluded. */
    readonly start: number,
    readonly end: number,
    readonly keyId: string,
    readonly lsn: bigint,
    readonly index: number,
  ) {}

  get unavailable(): string[] {
    return [];
  }

  /** Parsed back only when a later row of the key needs a value from it (unchanged TOAST). */
  get values(): Record<string, unknown> {
    this.parsed ??= JSON.parse(this.owner.text(this.start, this.end)) as Record<string, unknown>;
    return this.parsed;
  }
}

/** A row still in object form (a delete, a row with unchanged TOAST columns): serialised at the end. */
interface ObjectRow {
  row: BuiltRow;
  index: number;
}

/** What RowLinesBuilder.finish() gives: the lines, and the rows still waiting for TOAST values. */
export interface BuiltLines {
  /** The lines, each ended by "\n"; its ArrayBuffer holds nothing else (it can be transferred). */
  body: Uint8Array;
  /** Per line, the position of its message in the batch. */
  indexes: Int32Array;
  /** Rows with unchanged TOAST columns (left out of `values`): filled from ClickHouse, then serialised. */
  toast: { values: Record<string, unknown>; unavailable: string[]; lsn: bigint; index: number }[];
  /** The highest LSN among the rows kept (undefined: no row). */
  maxLsn?: bigint;
}

const INITIAL_BYTES = 256 * 1024;

/**
 * The latest row per key of one table in a batch (stream order = LSN order per key), with
 * foldRow's rules: an older duplicate never wins, unchanged TOAST columns take the value of the
 * previous row for the key. Rows given as LineRow are written to the buffer at once; the others
 * (deletes, TOAST, metadata-name clashes) stay objects until finish(), as buildRow made them.
 */
export class RowLinesBuilder {
  private buf: Buffer;
  private pos = 0;
  private readonly latest = new Map<string, BuiltRow>();
  private readonly objects = new Map<BuiltRow, ObjectRow>();
  /** Message index per written line, in buffer order. */
  private order: Int32Array = new Int32Array(1024);
  private written = 0;
  /** Rows replaced by a later row of their key (their bytes stay in the buffer until finish). */
  private replaced = 0;
  private maxLsn: bigint | undefined;

  /**
   * @param expectBytes the size the lines will likely take (the table's last batch): growing the
   *   buffer copies it, which cost as much as writing the lines when it started small every batch
   */
  constructor(expectBytes = 0) {
    this.buf = Buffer.allocUnsafeSlow(Math.max(INITIAL_BYTES, expectBytes));
  }

  /** UTF-8 text of [start, end) of the buffer. */
  text(start: number, end: number): string {
    return this.buf.toString("utf8", start, end);
  }

  add(row: BuiltRow, index: number): void {
    const prev = this.latest.get(row.keyId);
    if (prev && prev.lsn > row.lsn) return; // an older duplicate never wins
    if (prev) this.replaced++;
    if (this.maxLsn === undefined || row.lsn > this.maxLsn) this.maxLsn = row.lsn;
    if (row instanceof LineRow) {
      this.latest.set(row.keyId, this.write(row, index));
      return;
    }
    this.objects.set(row, { row, index });
    foldRow(this.latest, row); // fills TOAST columns from `prev`; the lsn check above already passed
  }

  private write(row: LineRow, index: number): WrittenLine {
    const line = row.line;
    const need = this.pos + line.length * 3 + 1; // UTF-8 takes at most 3 bytes per UTF-16 unit
    if (need > this.buf.length) {
      const bigger = Buffer.allocUnsafeSlow(Math.max(need, this.buf.length * 2));
      this.buf.copy(bigger, 0, 0, this.pos);
      this.buf = bigger;
    }
    const start = this.pos;
    const end = start + this.buf.write(line, start, "utf8");
    this.buf[end] = 0x0a;
    this.pos = end + 1;
    if (this.written === this.order.length) {
      const more = new Int32Array(this.order.length * 2);
      more.set(this.order);
      this.order = more;
    }
    this.order[this.written++] = index;
    return new WrittenLine(this, start, end, row.keyId, row.lsn, index);
  }

  finish(): BuiltLines {
    const maxLsn = this.maxLsn;
    if (this.replaced === 0 && this.objects.size === 0) {
      // Every key once, every row a line: the buffer is the body as it is.
      const indexes = new Int32Array(this.written);
      indexes.set(this.order.subarray(0, this.written));
      return { body: this.buf.subarray(0, this.pos), indexes, toast: [], maxLsn };
    }
    // The latest row per key in the order keys first appeared (the Map's), as before.
    const parts: (WrittenLine | string)[] = [];
    const indexes: number[] = [];
    const toast: BuiltLines["toast"] = [];
    let bytes = 0;
    for (const r of this.latest.values()) {
      if (r instanceof WrittenLine) {
        parts.push(r);
        indexes.push(r.index);
        bytes += r.end - r.start + 1;
        continue;
      }
      const index = (this.objects.get(r) as ObjectRow).index;
      if (r.unavailable.length === 0) {
        const line = JSON.stringify(r.values);
        parts.push(line);
        indexes.push(index);
        bytes += Buffer.byteLength(line, "utf8") + 1;
        continue;
      }
      // buildRow lists every column holding UNAVAILABLE; foldRow keeps the ones still unknown.
      for (const col of r.unavailable) delete r.values[col];
      toast.push({ values: r.values, unavailable: r.unavailable, lsn: r.lsn, index });
    }
    const body = Buffer.allocUnsafeSlow(bytes);
    let at = 0;
    for (const p of parts) {
      if (typeof p === "string") at += body.write(p, at, "utf8");
      else at += this.buf.copy(body, at, p.start, p.end);
      body[at++] = 0x0a;
    }
    return { body, indexes: Int32Array.from(indexes), toast, maxLsn };
  }
}
