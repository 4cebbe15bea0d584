import type { Admin } from "kafkajs";
import { sendControl } from "../shared/control.js";
import { createKafka } from "../shared/kafka.js";
import type { AttachIO } from "./attach.js";

/**
 * Deletes an attachment's topics (detach), then tells the running sidecar so it stops consuming
 * them now rather than at its next topic refresh: an attach of the same tables right after would
 * recreate the topics under the same names, and a consumer still positioned at the old topics'
 * ends would skip the new topics' first events (the copy's progress never arrives).
 */
export async function deleteAttachmentTopics(
  kafka: { admin: Admin; brokers: string[]; topicPrefix: string; group: string },
  topics: string[],
  io: AttachIO,
): Promise<void> {
  const existing = new Set(await kafka.admin.listTopics());
  const gone = topics.filter((t) => existing.has(t));
  if (gone.length === 0) return;
  await kafka.admin.deleteTopics({ topics: gone, timeout: 30_000 });
  io.out(`topics deleted (the projector stops consuming them): ${gone.join(", ")}`);
  // No projector running: it subscribes to the topics that exist when it starts.
  const [group] = (await kafka.admin.describeGroups([kafka.group])).groups;
  if (!group?.members.length) return;
  const client = createKafka(kafka.brokers, "cqrs-sidecar-detach");
  const answer = await sendControl(
    client,
    kafka.topicPrefix,
    { op: "topics-deleted", topics: gone },
    {
      timeoutMs: 15_000,
    },
  ).catch(() => undefined);
  if (!answer?.ok)
    io.out(`the running sidecar did not resubscribe yet (${answer?.detail ?? "no answer"}); it will within 10 s`);
}
