import { startStack } from "./helpers/stack.js";

/** Brings up (or finds) the real stack once for the whole run; see test/helpers/stack.ts. */
export default async function setup({ provide }: { provide: (key: string, value: unknown) => void }) {
  const stack = await startStack();
  provide("stack", stack.env);
  return stack.stop;
}
