import { randomUUID } from "node:crypto";

/**
 * A steady stream of shop commands through the write API: orders for a few products
 * with plenty of stock, some of them paid or cancelled. Records every answer's status,
 * and the consistency token of the newest successful write.
 */
export class ShopLoad {
  readonly statuses = new Map<number, number>();
  lastToken: string | undefined;
  ok = 0;
  private running = false;
  private loops: Promise<void>[] = [];
  private customers: string[] = [];
  private products: string[] = [];

  constructor(
    private readonly writeUrl: string,
    private readonly token = "",
  ) {}

  private async call(method: string, path: string, body?: unknown): Promise<{ status: number; json: any }> {
    try {
      const res = await fetch(`${this.writeUrl}${path}`, {
        method,
        headers: {
          "content-type": "application/json",
          ...(this.token ? { authorization: `Bearer ${this.token}` } : {}),
          "idempotency-key": randomUUID(),
        },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(20_000),
      });
      const json = await res.json().catch(() => undefined);
      this.statuses.set(res.status, (this.statuses.get(res.status) ?? 0) + 1);
      if (res.ok) {
        this.ok++;
        const t = res.headers.get("x-consistency-token");
        if (t) this.lastToken = t;
      }
      return { status: res.status, json };
    } catch {
      this.statuses.set(0, (this.statuses.get(0) ?? 0) + 1); // no answer at all
      return { status: 0, json: undefined };
    }
  }

  async seed(customers = 5, products = 5): Promise<void> {
    const tag = randomUUID().slice(0, 8);
    for (let i = 0; i < customers; i++) {
      const r = await this.call("POST", "/customers", { email: `load-${tag}-${i}@example.test`, name: `Load ${i}` });
      if (r.status !== 201) throw new Error(`seeding a customer failed: ${r.status} ${JSON.stringify(r.json)}`);
      this.customers.push(r.json.id);
    }
    for (let i = 0; i < products; i++) {
      const r = await this.call("POST", "/products", {
        sku: `LOAD-${tag}-${i}`,
        name: `Load product ${i}`,
        price: `${i + 1}.25`,
        stock: 1_000_000,
      });
      if (r.status !== 201) throw new Error(`seeding a product failed: ${r.status} ${JSON.stringify(r.json)}`);
      this.products.push(r.json.id);
    }
  }

  /** `concurrency` loops, each placing an order about every `intervalMs`. */
  start(concurrency = 3, intervalMs = 20): void {
    this.running = true;
    for (let w = 0; w < concurrency; w++) {
      this.loops.push(
        (async () => {
          let n = 0;
          while (this.running) {
            n++;
            const pick = <T>(xs: T[]) => xs[Math.floor(Math.random() * xs.length)]!;
            const r = await this.call("POST", "/orders", {
              customerId: pick(this.customers),
              lines: [
                { productId: pick(this.products), quantity: 1 + (n % 3) },
                { productId: pick(this.products), quantity: 1 },
              ],
            });
            if (r.status === 201 && n % 4 === 0) await this.call("POST", `/orders/${r.json.id}/pay`);
            if (r.status === 201 && n % 7 === 0) await this.call("POST", `/orders/${r.json.id}/cancel`);
            await new Promise((res) => setTimeout(res, intervalMs));
          }
        })(),
      );
    }
  }

  async stop(): Promise<void> {
    this.running = false;
    await Promise.all(this.loops);
    this.loops = [];
  }
}
