import { describe, expect, test } from "vitest";
import { isInternalTable } from "../../src/cdc/internal.js";

describe("the sidecar's own source tables", () => {
  test("schema sidecar (attach's heartbeat and Debezium signal tables) is internal", () => {
    expect(isInternalTable("sidecar", "heartbeat")).toBe(true);
    expect(isInternalTable("sidecar", "debezium_signal")).toBe(true);
    expect(isInternalTable("sidecar", "anything_added_later")).toBe(true);
  });
  test("the demo connector's heartbeat table is internal", () => {
    expect(isInternalTable("public", "sidecar_heartbeat")).toBe(true);
  });
  test("user tables are not, even with similar names", () => {
    expect(isInternalTable("public", "heartbeat")).toBe(false);
    expect(isInternalTable("sidecar_app", "heartbeat")).toBe(false);
    expect(isInternalTable("crm", "debezium_signal")).toBe(false);
    expect(isInternalTable("public", "orders")).toBe(false);
  });
});
