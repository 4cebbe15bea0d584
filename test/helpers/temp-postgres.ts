import { execFileSync } from "node:child_process";
import { chmodSync, chownSync, mkdtempSync, readdirSync, rmSync, writeFileSync } from "node:fs";
import { createServer } from "node:net";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * A throwaway PostgreSQL cluster with settings of the test's choosing (for example
 * wal_level=replica), from the same Debian binaries as the native stack. Run as the
 * postgres OS user when the tests run as root, because Postgres refuses root.
 */
export async function startTempPostgres(settings: Record<string, string>) {
  const version = readdirSync("/usr/lib/postgresql").sort().pop();
  const bin = `/usr/lib/postgresql/${version}/bin`;
  const dir = mkdtempSync(join(tmpdir(), "temp-pg-"));
  chmodSync(dir, 0o755);
  const data = join(dir, "data");
  const asRoot = process.getuid?.() === 0;
  const run = (cmd: string, args: string[]) =>
    execFileSync(asRoot ? "runuser" : cmd, asRoot ? ["-u", "postgres", "--", cmd, ...args] : args, { stdio: "pipe" });
  if (asRoot) {
    const uid = Number(execFileSync("id", ["-u", "postgres"]).toString());
    const gid = Number(execFileSync("id", ["-g", "postgres"]).toString());
    chownSync(dir, uid, gid);
  }
  const pw = join(dir, "pw");
  writeFileSync(pw, "postgres\n", { mode: 0o644 });
  run(`${bin}/initdb`, ["-D", data, "-U", "postgres", `--pwfile=${pw}`, "--auth=scram-sha-256"]);
  const port = await freePort();
  const opts = [
    `-p ${port}`,
    `-k ${dir}`,
    "-c listen_addresses=127.0.0.1",
    ...Object.entries(settings).map(([k, v]) => `-c ${k}=${v}`),
  ];
  run(`${bin}/pg_ctl`, ["-D", data, "-l", join(dir, "log"), "-o", opts.join(" "), "-w", "start"]);
  return {
    url: `postgres://postgres:postgres@127.0.0.1:${port}/postgres`,
    stop: () => {
      try {
        run(`${bin}/pg_ctl`, ["-D", data, "-m", "immediate", "-w", "stop"]);
      } finally {
        rmSync(dir, { recursive: true, force: true });
      }
    },
  };
}

function freePort(): Promise<number> {
  return new Promise((resolve) => {
    const s = createServer().listen(0, "127.0.0.1", () => {
      const p = (s.address() as { port: number }).port;
      s.close(() => resolve(p));
    });
  });
}
