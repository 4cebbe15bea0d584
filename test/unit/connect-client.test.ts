import { createServer } from "node:http";
import type { AddressInfo } from "node:net";
import { afterEach, describe, expect, it } from "vitest";
import { ConnectClient, ConnectUnreachable, whileConnectAway } from "../../src/connect/connect-client.js";

/** A stand-in for Connect's REST API answering `answers` in turn (the client's retry rules only). */
async function restServer(answers: [number, string][]) {
  const seen: string[] = [];
  const server = createServer((req, res) => {
    seen.push(`${req.method} ${req.url}`);
    const [status, body] = answers.length > 1 ? answers.shift()! : answers[0]!;
    res.writeHead(status, { "content-type": "application/json" }).end(body);
  });
  await new Promise<void>((r) => server.listen(0, "127.0.0.1", r));
  const url = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  return { url, seen, close: () => new Promise((r) => server.close(r)) };
}

let close: (() => Promise<unknown>) | undefined;
afterEach(async () => {
  await close?.();
  close = undefined;
});

describe("ConnectClient", () => {
  it("sends a request again while Connect rebalances (409, or 500 saying so), then takes the answer", async () => {
    const s = await restServer([
      [409, '{"error_code":409,"message":"Cannot complete request momentarily due to stale configuration"}'],
      [500, '{"error_code":500,"message":"Request cannot be completed because a rebalance is expected"}'],
      [200, '{"connector.class":"x"}'],
    ]);
    close = s.close;
    expect(await new ConnectClient(s.url).getConfig("attach_a")).toEqual({ "connector.class": "x" });
    expect(s.seen).toEqual(Array(3).fill("GET /connectors/attach_a/config"));
  });

  it("takes any other 500 as it is", async () => {
    const s = await restServer([[500, '{"error_code":500,"message":"boom"}']]);
    close = s.close;
    await expect(new ConnectClient(s.url).getConfig("a")).rejects.toThrow(/500 boom/);
    expect(s.seen).toHaveLength(1);
  });

  it("waits out a Connect that does not answer, within the time given", async () => {
    const dead = new ConnectClient("http://127.0.0.1:9");
    await expect(dead.getConfig("a")).rejects.toBeInstanceOf(ConnectUnreachable);
    let calls = 0;
    const answer = await whileConnectAway(async () => {
      if (++calls < 2) throw new ConnectUnreachable("away");
      return "back";
    }, 5_000);
    expect([answer, calls]).toEqual(["back", 2]);
    await expect(whileConnectAway(() => dead.getConfig("a"), 500)).rejects.toBeInstanceOf(ConnectUnreachable);
  });
});
