import { execFile } from "node:child_process";
import { mkdtemp, readFile, rm, stat } from "node:fs/promises";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { promisify } from "node:util";
import { afterAll, beforeAll, describe, expect, it } from "vitest";

/**
 * The tokens `make up` hands to the roles (stack/stack.sh): generated once with mode 600,
 * reused afterwards, printed as lines a shell can eval, with the page URL. Runs against a
 * STACK_DIR of its own, so the shared stack's tokens are never touched.
 */
const run = promisify(execFile);
let dir: string;

async function token(extraEnv: Record<string, string> = {}) {
  const env: Record<string, string | undefined> = { ...process.env, STACK_DIR: dir, ...extraEnv };
  for (const k of ["API_TOKEN", "READ_API_TOKEN", "READ_API_HOST", "READ_API_PORT"])
    if (!(k in extraEnv)) delete env[k];
  return run("bash", ["stack/stack.sh", "token"], { env, timeout: 30_000 });
}
const exported = (out: string, name: string) => new RegExp(`^export ${name}=(.*)$`, "m").exec(out)?.[1];

beforeAll(async () => {
  dir = await mkdtemp(join(tmpdir(), "stack-tokens-"));
});
afterAll(async () => {
  await rm(dir, { recursive: true, force: true });
});

describe("stack tokens", () => {
  it("the first run generates two random tokens in <STACK_DIR>/tokens, mode 600", async () => {
    const { stdout, stderr } = await token();
    expect(stderr).toMatch(/generated API tokens/);
    const file = join(dir, "tokens");
    expect((await stat(file)).mode & 0o777).toBe(0o600);
    const write = exported(stdout, "API_TOKEN");
    const read = exported(stdout, "READ_API_TOKEN");
    expect(write).toMatch(/^[0-9a-f]{64}$/);
    expect(read).toMatch(/^[0-9a-f]{64}$/);
    expect(write).not.toBe(read);
    expect(await readFile(file, "utf8")).toBe(`API_TOKEN=${write}\nREAD_API_TOKEN=${read}\n`);
    expect(stdout).toContain(`http://127.0.0.1:3001/#token=${read}`);
  });

  it("later runs reuse them, and the output is shell lines to eval", async () => {
    const first = await readFile(join(dir, "tokens"), "utf8");
    const { stdout, stderr } = await token();
    expect(stderr).toBe("");
    expect(await readFile(join(dir, "tokens"), "utf8")).toBe(first);
    const shell = await run("bash", ["-c", `${stdout}\nprintf '%s %s' "$API_TOKEN" "$READ_API_TOKEN"`]);
    expect(`API_TOKEN=${shell.stdout.split(" ")[0]}\nREAD_API_TOKEN=${shell.stdout.split(" ")[1]}\n`).toBe(first);
  });

  it("a token set in the environment wins; the page URL follows READ_API_HOST/PORT", async () => {
    const { stdout } = await token({ READ_API_TOKEN: "mine", READ_API_HOST: "0.0.0.0", READ_API_PORT: "4001" });
    expect(exported(stdout, "READ_API_TOKEN")).toBe("mine");
    expect(stdout).toContain("http://127.0.0.1:4001/#token=mine");
  });
});
