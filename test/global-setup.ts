import { execFileSync } from "node:child_process";
import { existsSync, readFileSync } from "node:fs";
import { removeLeftovers } from "./helpers/leftovers.js";
import { startStack } from "./helpers/stack.js";

/** Brings up (or finds) the real stack once for the whole run; see test/helpers/stack.ts. */
export default async function setup({ provide }: { provide: (key: string, value: unknown) => void }) {
  const stack = await startStack();
  const removed = await removeLeftovers(stack.env);
  if (removed.length > 0) console.log(`[test] removed what interrupted runs left on the stack: ${removed.join(", ")}`);
  provide("stack", stack.env);
  // Tests of the user's path run `make up`, which starts the sidecar's roles: stop them again
  // when this run started them, so `make test` leaves the stack as it found it.
  const appWasUp = appRunning();
  return async () => {
    if (!appWasUp && appRunning()) execFileSync("bash", ["stack/stack.sh", "stop", "app"], { stdio: "inherit" });
    await stack.stop();
  };
}

function appRunning(): boolean {
  const pidFile = `${process.env.STACK_DIR ?? ".stack"}/run/app.pid`;
  if (!existsSync(pidFile)) return false;
  try {
    process.kill(Number(readFileSync(pidFile, "utf8").trim()), 0);
    return true;
  } catch {
    return false;
  }
}
