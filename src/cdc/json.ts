/**
 * JSON.parse that keeps 64-bit integers exact. Debezium's JsonConverter writes int64 values
 * (bigint columns, nano timestamps, LSNs) as bare JSON numbers, which JSON.parse would round
 * past 2^53. Integer literals of 16 or more digits outside strings are turned into strings
 * first; converters accept a safe number or such a string for every 64-bit field.
 */
const BIG_INT_OR_STRING = /"(?:[^"\\]|\\.)*"|(?<![\w.+-])-?\d{16,}(?![\w.])/g;

export function parseJsonExact(text: string): unknown {
  if (!/\d{16}/.test(text)) return JSON.parse(text);
  return JSON.parse(text.replace(BIG_INT_OR_STRING, (m) => (m.charCodeAt(0) === 34 ? m : `"${m}"`)));
}
