/**
 * Postgres LSNs: text "X/Y" (two hex halves) <-> bigint. The consistency token a write
 * returns is an LSN in this text form; Debezium's source.lsn is the same number as a JSON number.
 */
const LSN_TEXT = /^([0-9A-Fa-f]{1,8})\/([0-9A-Fa-f]{1,8})$/;

export function parseLsn(text: string): bigint {
  const m = LSN_TEXT.exec(text);
  if (!m) throw new Error(`not a Postgres LSN: "${text}" (expected X/Y in hex, e.g. 0/16B3748)`);
  return (BigInt(`0x${m[1]}`) << 32n) | BigInt(`0x${m[2]}`);
}

export function formatLsn(lsn: bigint | number): string {
  const v = BigInt(lsn);
  return `${(v >> 32n).toString(16).toUpperCase()}/${(v & 0xffffffffn).toString(16).toUpperCase()}`;
}

export function isLsn(text: string): boolean {
  return LSN_TEXT.test(text);
}

/**
 * A watermark as the projector and the progress-table reader merge it: the WAL position tokens
 * wait for, the source time it stands for (µs), when it was published (ms), and `ownClock` when
 * that time is its table's own source's (a MySQL/MariaDB connector's, src/projector/binlog-clock.ts).
 */
export interface MergeableWatermark {
  lsn: bigint;
  commitTsUs: bigint;
  publishedAt: number;
  ownClock?: boolean;
}

/**
 * The watermark a read of several tables (or topics) may rely on: per key its own watermark when
 * ahead of the global one, else the global one (a key dated by its own clock keeps its time and
 * takes the global position when that is ahead); the lowest position and the oldest time of
 * those. No keys: the global one. Undefined when some key has neither. One rule for the
 * projector and the progress-table reader.
 */
export function lowestWatermark(
  keys: Iterable<string>,
  own: (key: string) => MergeableWatermark | undefined,
  global: MergeableWatermark | undefined,
): MergeableWatermark | undefined {
  let low: MergeableWatermark | undefined;
  let any = false;
  for (const k of keys) {
    any = true;
    const o = own(k);
    const w = o?.ownClock
      ? { ...o, lsn: global && global.lsn > o.lsn ? global.lsn : o.lsn }
      : o && (!global || o.lsn > global.lsn)
        ? o
        : global;
    if (!w) return undefined;
    low = low ? older(low, w) : w;
  }
  return any ? low : global;
}

const least = (a: bigint, b: bigint) => (a < b ? a : b);

const older = (a: MergeableWatermark, b: MergeableWatermark): MergeableWatermark => ({
  lsn: least(a.lsn, b.lsn),
  commitTsUs: least(a.commitTsUs, b.commitTsUs),
  publishedAt: Math.min(a.publishedAt, b.publishedAt),
  ownClock: a.ownClock || b.ownClock,
});
