import { describe, expect, it } from "vitest";
import { messageKeyColumns } from "../../src/attach/projection-key.js";
import { tableIncludeRegex } from "../../src/connect/connector-config.js";
import { shellBlocks } from "../helpers/doc-blocks.js";

describe("shellBlocks (the docs' runnable blocks)", () => {
  const md = [
    "# Title",
    "```sh",
    "outside",
    "```",
    "## Tour",
    "text",
    "```sh",
    "make up",
    "```",
    "```",
    "$ not a shell block",
    "```",
    "### Step",
    "```sh",
    "a=1",
    "echo $a",
    "```",
    "## Next",
    "```sh",
    "after",
    "```",
  ].join("\n");

  it("takes the sh blocks of the section and its subsections, in order", () => {
    expect(shellBlocks(md, "Tour")).toEqual(["make up", "a=1\necho $a"]);
  });
  it("a missing section is an error, not an empty tour", () => {
    expect(() => shellBlocks(md, "Nope")).toThrow(/no heading "Nope"/);
  });
});

describe("messageKeyColumns", () => {
  it("names only the tables keyed by an index, as Debezium's regex:columns list", () => {
    expect(
      messageKeyColumns(
        [
          { table: "crm.a", key: { columns: ["id"], source: "primary key" } },
          { table: "crm.b", key: { columns: ["code", "region"], source: "replica identity index" } },
          { table: "crm.c", key: { columns: ["sku"], source: "unique index" } },
        ],
        tableIncludeRegex,
      ),
    ).toBe("crm\\.b:code,region;crm\\.c:sku");
  });
});
