import { removeLeftovers } from "./helpers/leftovers.js";
import { startStack } from "./helpers/stack.js";

/** Brings up (or finds) the real stack once for the whole run; see test/helpers/stack.ts. */
export default async function setup({ provide }: { provide: (key: string, value: unknown) => void }) {
  const stack = await startStack();
  const removed = await removeLeftovers(stack.env);
  if (removed.length > 0) console.log(`[test] removed what interrupted runs left on the stack: ${removed.join(", ")}`);
  provide("stack", stack.env);
  return stack.stop;
}
