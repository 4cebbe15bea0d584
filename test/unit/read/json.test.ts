import { describe, expect, it } from "vitest";
import { stringifyJson } from "../../../src/read/json.js";

describe("stringifyJson", () => {
  it("writes -0 as -0 wherever it is, everything else as JSON.stringify does", () => {
    expect(stringifyJson(-0)).toBe("-0");
    expect(stringifyJson({ a: -0, b: [0, -0, { c: -0 }], d: "-0", e: 0, f: null })).toBe(
      '{"a":-0,"b":[0,-0,{"c":-0}],"d":"-0","e":0,"f":null}',
    );
    expect(Object.is(JSON.parse(stringifyJson({ x: -0 })).x, -0)).toBe(true);
    const plain = { s: 'it\'s "x" \u0000-0', n: [1.5, -2, 1e300], t: true, u: undefined };
    expect(stringifyJson(plain)).toBe(JSON.stringify(plain));
  });
});
