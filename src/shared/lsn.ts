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
 * The watermark a read of several tables (or topics) may rely on: per key its own watermark when
 * ahead of the global one, else the global one; the lowest of those. No keys: the global one.
 * Undefined when some key has neither. One rule for the projector and the progress-table reader.
 */
export function lowestWatermark<W extends { lsn: bigint }>(
  keys: Iterable<string>,
  own: (key: string) => W | undefined,
  global: W | undefined,
): W | undefined {
  let low: W | undefined;
  let any = false;
  for (const k of keys) {
    any = true;
    const o = own(k);
    const w = o && (!global || o.lsn > global.lsn) ? o : global;
    if (!w) return undefined;
    if (!low || w.lsn < low.lsn) low = w;
  }
  return any ? low : global;
}
