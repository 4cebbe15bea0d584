import { accept, type Decision, reject } from "./rejections.js";

/**
 * Optimistic concurrency. Responses carry `ETag: "<version>"`; a client sends it back in
 * `If-Match` and the update only happens if the row still has that version.
 * `If-Match: *` (or no header) means "whatever the current version is".
 */
export type ExpectedVersion = number | "*" | undefined;

/** Parses an If-Match value: `"3"`, `W/"3"`, bare `3`, or `*`. Returns null when malformed. */
export function parseIfMatch(header: string | undefined): ExpectedVersion | null {
  if (header === undefined) return undefined;
  const v = header.trim();
  if (v === "*") return "*";
  const m = /^(?:W\/)?"?([0-9]{1,9})"?$/.exec(v);
  return m ? Number(m[1]) : null;
}

export function etagOf(version: number): string {
  return `"${version}"`;
}

/** Pure: may a row at `current` version be changed by a client that expects `expected`? */
export function checkVersion(what: string, current: number, expected: ExpectedVersion): Decision<void> {
  if (expected === undefined || expected === "*" || expected === current) return accept(undefined);
  return reject({
    kind: "version_conflict",
    detail: `${what} is at version ${current}, not ${expected}; read it again and retry`,
    errors: [{ field: "if-match", reason: `stale version ${expected}, current is ${current}` }],
    extensions: { currentVersion: current },
  });
}
