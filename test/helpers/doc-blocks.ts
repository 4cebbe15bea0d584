import { spawn } from "node:child_process";
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";

/**
 * The shell blocks (```sh) of one section of a Markdown file, in order: the section is the
 * heading whose text starts with `heading`, up to the next heading of the same or a higher level.
 */
export function shellBlocks(markdown: string, heading: string): string[] {
  const lines = markdown.split("\n");
  const start = lines.findIndex((l) => /^#{1,6} /.test(l) && l.replace(/^#+ /, "").startsWith(heading));
  if (start < 0) throw new Error(`no heading "${heading}"`);
  const level = lines[start]!.match(/^#+/)![0].length;
  const blocks: string[] = [];
  let block: string[] | undefined;
  for (const line of lines.slice(start + 1)) {
    if (!block && new RegExp(`^#{1,${level}} `).test(line)) break;
    if (!block && /^```sh\s*$/.test(line)) block = [];
    else if (block && /^```\s*$/.test(line)) {
      blocks.push(block.join("\n"));
      block = undefined;
    } else block?.push(line);
  }
  return blocks;
}

export interface BlockRun {
  block: string;
  /** What the block printed, stdout and stderr in order. */
  out: string;
  /** The exit code of the block's failing command (0 when every command succeeded). */
  code: number | undefined;
}

/**
 * Runs blocks one after another in ONE bash, as a user pastes them into one terminal (variables
 * and functions carry over), every command checked (`set -e`, `pipefail`): the run stops at the
 * first failing command. Returns each block's output and whether it finished.
 */
export async function runShellBlocks(
  blocks: string[],
  opts: { cwd: string; env: NodeJS.ProcessEnv; timeoutMs: number; log?: (chunk: string) => void },
): Promise<BlockRun[]> {
  const dir = mkdtempSync(join(tmpdir(), "doc-blocks-"));
  const marker = `@@block-${process.pid}`;
  const script = ["set -eo pipefail"];
  blocks.forEach((b, i) => {
    writeFileSync(join(dir, `${i}.sh`), `${b}\n`);
    script.push(`echo "${marker} begin ${i}"`, `source ${join(dir, `${i}.sh`)}`, `echo "${marker} end ${i}"`);
  });
  writeFileSync(join(dir, "run.sh"), `${script.join("\n")}\n`);
  try {
    const { out, code } = await new Promise<{ out: string; code: number }>((resolve, reject) => {
      const child = spawn("bash", ["--noprofile", "--norc", join(dir, "run.sh")], {
        cwd: opts.cwd,
        env: opts.env,
        stdio: ["ignore", "pipe", "pipe"],
      });
      let all = "";
      const take = (c: Buffer) => {
        all += c.toString("utf8");
        opts.log?.(c.toString("utf8"));
      };
      child.stdout.on("data", take);
      child.stderr.on("data", take);
      const timer = setTimeout(() => {
        child.kill("SIGKILL");
        reject(new Error(`the blocks did not finish within ${opts.timeoutMs / 1000} s:\n${all.slice(-4000)}`));
      }, opts.timeoutMs);
      child.on("close", (c) => {
        clearTimeout(timer);
        resolve({ out: all, code: c ?? 1 });
      });
    });
    return splitRuns(blocks, out, code, marker);
  } finally {
    rmSync(dir, { recursive: true, force: true });
  }
}

function splitRuns(blocks: string[], out: string, code: number, marker: string): BlockRun[] {
  const runs: BlockRun[] = [];
  const parts = out.split(new RegExp(`^${marker} (begin|end) (\\d+)\\n`, "m"));
  // parts: [before, kind, index, text, kind, index, text, …]
  const text = new Map<number, string>();
  const ended = new Set<number>();
  for (let i = 1; i + 2 < parts.length + 1; i += 3) {
    const idx = Number(parts[i + 1]);
    if (parts[i] === "begin") text.set(idx, parts[i + 2] ?? "");
    else ended.add(idx);
  }
  blocks.forEach((block, i) => {
    if (!text.has(i)) return;
    runs.push({ block, out: text.get(i)!, code: ended.has(i) ? 0 : code });
  });
  return runs;
}

export const readDoc = (root: string, file: string) => readFileSync(join(root, file), "utf8");
