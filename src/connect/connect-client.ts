/** A small client for the Kafka Connect REST API (the parts the sidecar uses). */
export interface ConnectorStatus {
  name: string;
  connector: { state: string; trace?: string };
  tasks: { id: number; state: string; trace?: string }[];
}

/** One entry of GET /connectors?expand=status&expand=info. */
export interface ExpandedConnector {
  status?: ConnectorStatus;
  info?: { name: string; config: Record<string, string> };
}

export class ConnectError extends Error {
  constructor(
    message: string,
    readonly status?: number,
  ) {
    super(message);
    this.name = "ConnectError";
  }
}

/** Kafka Connect did not answer at all (down, restarting): worth waiting for, unlike an answer. */
export class ConnectUnreachable extends ConnectError {}

/** Connect's answer while its workers rebalance: worth sending again. */
async function rebalancing(res: Response): Promise<boolean> {
  if (res.status === 409) return true;
  return res.status === 500 && /rebalance/i.test(await res.clone().text());
}

/** Runs `call`, waiting out a Kafka Connect that does not answer (restarting) for up to `timeoutMs`. */
export async function whileConnectAway<T>(call: () => Promise<T>, timeoutMs = 120_000): Promise<T> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    try {
      return await call();
    } catch (err) {
      if (!(err instanceof ConnectUnreachable) || Date.now() + 1_000 > deadline) throw err;
      await new Promise((r) => setTimeout(r, 1_000));
    }
  }
}

export class ConnectClient {
  /** `timeoutMs`: how long one request may take (a metrics scrape wants a short one). */
  constructor(
    private readonly baseUrl: string,
    private readonly timeoutMs = 30_000,
  ) {}

  /**
   * One request. While its workers rebalance (another connector was just added or removed: two
   * attaches at once) Connect answers 409 ("stale configuration") or 500 ("a rebalance is
   * expected"); every request here is idempotent, so it is sent again for up to 30 s.
   */
  private async call(method: string, path: string, body?: unknown): Promise<Response> {
    const deadline = Date.now() + 30_000;
    for (;;) {
      const res = await this.send(method, path, body);
      if (Date.now() > deadline || !(await rebalancing(res))) return res;
      await res.body?.cancel();
      await new Promise((r) => setTimeout(r, 500));
    }
  }

  private async send(method: string, path: string, body?: unknown): Promise<Response> {
    let res: Response;
    try {
      res = await fetch(new URL(path, this.baseUrl), {
        method,
        headers: body === undefined ? {} : { "content-type": "application/json" },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      throw new ConnectUnreachable(
        `Kafka Connect is not reachable at ${this.baseUrl} (${(err as Error).message}). Is the stack up? Run: make up`,
      );
    }
    return res;
  }

  private async json<T>(method: string, path: string, body?: unknown): Promise<T> {
    const res = await this.call(method, path, body);
    const text = await res.text();
    if (!res.ok) {
      let message = text;
      try {
        message = (JSON.parse(text) as { message?: string }).message ?? text;
      } catch {}
      throw new ConnectError(`${method} ${path}: ${res.status} ${message}`, res.status);
    }
    return (text ? JSON.parse(text) : undefined) as T;
  }

  /** Idempotent: creates the connector or updates its config in place (same name, same slot). */
  putConfig(name: string, config: Record<string, string>) {
    return this.json<{ name: string }>("PUT", `/connectors/${encodeURIComponent(name)}/config`, config);
  }

  /** A connector's config (GET /connectors/<name>/config), undefined when there is no such connector. */
  async getConfig(name: string): Promise<Record<string, string> | undefined> {
    try {
      return await this.json<Record<string, string>>("GET", `/connectors/${encodeURIComponent(name)}/config`);
    } catch (err) {
      if (err instanceof ConnectError && err.status === 404) return undefined;
      throw err;
    }
  }

  /** The topics the connector has written to since it was created (Kafka Connect's topic tracking); undefined: no such connector. */
  async activeTopics(name: string): Promise<string[] | undefined> {
    try {
      const path = `/connectors/${encodeURIComponent(name)}/topics`;
      return (await this.json<Record<string, { topics?: string[] }>>("GET", path))[name]?.topics ?? [];
    } catch (err) {
      if (err instanceof ConnectError && err.status === 404) return undefined;
      throw err;
    }
  }

  listConnectors() {
    return this.json<string[]>("GET", "/connectors");
  }

  /** Every connector with its status and config in one call (GET /connectors?expand=status&expand=info). */
  connectorsExpanded() {
    return this.json<Record<string, ExpandedConnector>>("GET", "/connectors?expand=status&expand=info");
  }

  async status(name: string): Promise<ConnectorStatus | undefined> {
    try {
      return await this.json<ConnectorStatus>("GET", `/connectors/${encodeURIComponent(name)}/status`);
    } catch (err) {
      if (err instanceof ConnectError && err.status === 404) return undefined;
      throw err;
    }
  }

  async delete(name: string): Promise<boolean> {
    const res = await this.call("DELETE", `/connectors/${encodeURIComponent(name)}`);
    if (res.status === 404) return false;
    if (!res.ok) throw new ConnectError(`DELETE connector ${name}: ${res.status} ${await res.text()}`, res.status);
    return true;
  }

  /** Stops the connector's tasks but keeps its config (needed before its offsets can be deleted). */
  async stop(name: string): Promise<void> {
    const res = await this.call("PUT", `/connectors/${encodeURIComponent(name)}/stop`);
    if (!res.ok && res.status !== 404)
      throw new ConnectError(`stop connector ${name}: ${res.status} ${await res.text()}`, res.status);
  }

  /** Resumes a stopped (or paused) connector: its tasks start again with its current config. */
  async resume(name: string): Promise<void> {
    const res = await this.call("PUT", `/connectors/${encodeURIComponent(name)}/resume`);
    if (!res.ok) throw new ConnectError(`resume connector ${name}: ${res.status} ${await res.text()}`, res.status);
  }

  /** The connector's committed source offsets (GET /connectors/<name>/offsets); [] when it is gone. */
  async offsets(name: string): Promise<{ partition?: { server?: unknown }; offset?: unknown }[]> {
    try {
      const path = `/connectors/${encodeURIComponent(name)}/offsets`;
      return (
        (await this.json<{ offsets?: { partition?: { server?: unknown }; offset?: unknown }[] }>("GET", path))
          .offsets ?? []
      );
    } catch (err) {
      if (err instanceof ConnectError && err.status === 404) return [];
      throw err;
    }
  }

  async deleteOffsets(name: string): Promise<void> {
    const res = await this.call("DELETE", `/connectors/${encodeURIComponent(name)}/offsets`);
    if (!res.ok && res.status !== 404) {
      throw new ConnectError(`delete offsets of ${name}: ${res.status} ${await res.text()}`, res.status);
    }
  }

  async waitState(name: string, state: string, timeoutMs: number): Promise<void> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if ((await this.status(name))?.connector.state === state) return;
      await new Promise((r) => setTimeout(r, 200));
    }
    throw new ConnectError(`connector ${name} did not reach ${state} within ${timeoutMs} ms`);
  }

  restart(name: string) {
    return this.json("POST", `/connectors/${encodeURIComponent(name)}/restart?includeTasks=true&onlyFailed=true`);
  }

  /**
   * Waits until the connector and all its tasks are RUNNING; a FAILED task is an error carrying its
   * trace. Connect being away for a while (restarted) is waited out within the same time.
   */
  async waitRunning(name: string, timeoutMs = 60_000): Promise<ConnectorStatus> {
    const deadline = Date.now() + timeoutMs;
    let last: ConnectorStatus | undefined;
    while (Date.now() < deadline) {
      last = await whileConnectAway(() => this.status(name), deadline - Date.now());
      const failed =
        last?.tasks.find((t) => t.state === "FAILED") ??
        (last?.connector.state === "FAILED" ? last.connector : undefined);
      if (failed) {
        const firstLine = (failed.trace ?? "").split("\n").slice(0, 3).join(" | ");
        throw new ConnectError(`connector ${name} FAILED: ${firstLine}`);
      }
      if (
        last?.connector.state === "RUNNING" &&
        last.tasks.length > 0 &&
        last.tasks.every((t) => t.state === "RUNNING")
      ) {
        return last;
      }
      await new Promise((r) => setTimeout(r, 250));
    }
    throw new ConnectError(`connector ${name} not RUNNING after ${timeoutMs} ms (last state: ${JSON.stringify(last)})`);
  }
}

/** The signal table a Debezium connector reads (`signal.data.collection`), or `fallback`. */
export async function signalTableOf(
  client: ConnectClient,
  connector: string,
  fallback: { schema: string; table: string },
): Promise<{ schema: string; table: string }> {
  const configured = (await client.getConfig(connector))?.["signal.data.collection"];
  const [schema, table] = configured?.split(".") ?? [];
  return schema && table ? { schema, table } : fallback;
}
