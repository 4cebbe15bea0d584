/**
 * Truncates the projector applies while a snapshot copy fills the same table (this process).
 * A truncate is applied as delete markers for the rows present at that moment; snapshot rows the
 * copy inserts afterwards are older than the truncate yet would stay live. The copy watches its
 * tables and, when it is done, applies the newest truncate seen once more (see docs/attach.md).
 */
const watched = new Map<string, { truncatedAt?: bigint }>();

/** Starts watching `key` (database.table); the returned function stops and returns the newest truncate LSN seen. */
export function watchTruncates(key: string): () => bigint | undefined {
  const entry: { truncatedAt?: bigint } = {};
  watched.set(key, entry);
  return () => {
    if (watched.get(key) === entry) watched.delete(key);
    return entry.truncatedAt;
  };
}

/** Called by the sink for every truncate it applies. */
export function noteTruncate(key: string, lsn: bigint): void {
  const entry = watched.get(key);
  if (entry && (entry.truncatedAt === undefined || lsn > entry.truncatedAt)) entry.truncatedAt = lsn;
}
