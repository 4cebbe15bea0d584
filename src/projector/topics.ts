/**
 * The topics the projector consumes: an explicit list (PROJECTOR_TOPICS), or every
 * `<prefix>.<schema>.<table>` topic Debezium created. Not the dead-letter topic, not the
 * notification or other one-part topics under the prefix.
 */
export function capturedTopics(
  all: readonly string[],
  prefix: string,
  dlq: string,
  explicit: readonly string[],
): string[] {
  if (explicit.length > 0) return [...explicit].sort();
  const head = `${prefix}.`;
  return all.filter((t) => t.startsWith(head) && t !== dlq && t.slice(head.length).split(".").length === 2).sort();
}
