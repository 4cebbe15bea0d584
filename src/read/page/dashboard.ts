import { Chart, type ChartConfiguration, registerables } from "chart.js";

/**
 * The dashboard page's script (browser; bundled by esbuild with chart.js, served at
 * /assets/dashboard.js). Token: open the page as `/#token=<READ_API_TOKEN>` (the fragment
 * never reaches a server or a log) or type it in the login field; it is kept in this tab's
 * sessionStorage and sent as `Authorization: Bearer`. Without a token configured on the
 * server, no token is needed.
 */
Chart.register(...registerables);

const TOKEN_KEY = "cqrs-sidecar.readToken";
const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

interface Freshness {
  lsn: string | null;
  commitTime: string | null;
  lagMs: number | null;
}
interface Answer<T> {
  data: T;
  freshness: Freshness;
}
type Problem = { status: number; title: string; detail: string };

declare global {
  interface Window {
    __dashboard: {
      renders: number;
      lastError: string | null;
      points: Record<string, number>;
      freshness: Freshness | null;
    };
  }
}
window.__dashboard = { renders: 0, lastError: null, points: {}, freshness: null };

function takeTokenFromFragment(): void {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(null, "", location.pathname + location.search);
  }
}

class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

async function api<T>(path: string, params: Record<string, string>): Promise<Answer<T>> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  const res = await fetch(`${path}?${new URLSearchParams(params)}`, {
    headers: token ? { authorization: `Bearer ${token}` } : {},
    cache: "no-store",
  });
  if (!res.ok) {
    const p = (await res.json().catch(() => null)) as Problem | null;
    throw new HttpError(res.status, p ? `${p.title}: ${p.detail}` : `HTTP ${res.status}`);
  }
  return (await res.json()) as Answer<T>;
}

// chart.js's generics do not survive a map of mixed chart types; the configs are checked where they are written.
type AnyChart = Chart<"bar" | "line" | "doughnut", number[], string>;
const charts = new Map<string, AnyChart>();
const PALETTE = ["#3867d6", "#20bf6b", "#f7b731", "#eb3b5a", "#8854d0", "#0fb9b1", "#fa8231", "#4b6584"];

function draw(
  id: string,
  config: ChartConfiguration<"bar" | "line" | "doughnut", number[], string>,
  points: number,
): void {
  const canvas = $<HTMLCanvasElement>(id);
  canvas.dataset.points = String(points);
  window.__dashboard.points[id] = points;
  const existing = charts.get(id);
  if (existing) {
    existing.data = config.data;
    existing.update("none");
    return;
  }
  charts.set(
    id,
    new Chart(canvas, {
      ...config,
      options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options },
    } as ChartConfiguration<"bar", number[], string>) as unknown as AnyChart,
  );
}

const money = (n: number) => n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

function showError(message: string | null): void {
  const el = $("error");
  el.textContent = message ?? "";
  el.style.display = message ? "block" : "none";
  window.__dashboard.lastError = message;
}

function showFreshness(f: Freshness): void {
  window.__dashboard.freshness = f;
  const box = $("freshness");
  const lag = f.lagMs;
  box.dataset.state = lag === null ? "unknown" : lag < 5_000 ? "ok" : lag < 60_000 ? "warn" : "bad";
  const lagText =
    lag === null ? "no data yet" : lag < 1000 ? `${lag} ms behind` : `${(lag / 1000).toFixed(1)} s behind`;
  $("freshness-text").textContent = `projection ${lagText}${f.lsn ? ` · LSN ${f.lsn}` : ""}${
    f.commitTime ? ` · last commit ${new Date(f.commitTime).toLocaleTimeString()}` : ""
  }`;
  box.title = f.commitTime ? `last source commit included: ${f.commitTime}` : "no change projected yet";
}

interface Bucket {
  bucket: string;
  revenue: number;
  orders: number;
}
interface StatusRow {
  status: string;
  orders: number;
  revenue: number;
}
interface ProductRow {
  productId: string;
  sku: string;
  name: string;
  units: number;
  revenue: number;
}
interface CustomerRow {
  bucket: string;
  newCustomers: number;
  returningCustomers: number;
}
interface StockRow {
  productId: string;
  sku: string;
  name: string;
  stock: number;
  price: number;
}
interface Aov {
  orders: number;
  revenue: number;
  averageOrderValue: number | null;
}

function label(bucket: string, granularity: string): string {
  const d = new Date(bucket);
  return granularity === "hour" ? d.toISOString().slice(5, 16).replace("T", " ") : d.toISOString().slice(0, 10);
}

let inFlight = false;
async function refresh(): Promise<void> {
  if (inFlight) return;
  inFlight = true;
  try {
    const days = Number($<HTMLSelectElement>("range").value);
    let granularity = $<HTMLSelectElement>("granularity").value;
    if (granularity === "hour" && days > 31) granularity = "day";
    const to = new Date(Math.ceil(Date.now() / 60_000) * 60_000 + 60_000);
    const from = new Date(to.getTime() - days * 86_400_000);
    const range = { from: from.toISOString(), to: to.toISOString() };
    const threshold = String(Math.max(0, Math.floor(Number($<HTMLInputElement>("threshold").value) || 0)));
    const [rev, status, topRev, topUnits, cust, stock, aov] = await Promise.all([
      api<Bucket[]>("/api/dashboard/revenue", { ...range, granularity }),
      api<StatusRow[]>("/api/dashboard/orders-by-status", range),
      api<ProductRow[]>("/api/dashboard/top-products", { ...range, by: "revenue", limit: "10" }),
      api<ProductRow[]>("/api/dashboard/top-products", { ...range, by: "units", limit: "10" }),
      api<CustomerRow[]>("/api/dashboard/customers", { ...range, granularity }),
      api<StockRow[]>("/api/dashboard/low-stock", { threshold, limit: "30" }),
      api<Aov>("/api/dashboard/average-order-value", range),
    ]);
    $("kpi-revenue").textContent = money(aov.data.revenue);
    $("kpi-orders").textContent = String(aov.data.orders);
    $("kpi-aov").textContent = aov.data.averageOrderValue === null ? "–" : money(aov.data.averageOrderValue);

    draw(
      "chart-revenue",
      {
        type: "bar",
        data: {
          labels: rev.data.map((b) => label(b.bucket, granularity)),
          datasets: [
            {
              type: "bar",
              label: "revenue",
              data: rev.data.map((b) => b.revenue),
              backgroundColor: "#3867d6",
              yAxisID: "y",
            },
            {
              type: "line",
              label: "orders",
              data: rev.data.map((b) => b.orders),
              borderColor: "#f7b731",
              backgroundColor: "#f7b731",
              yAxisID: "y1",
            },
          ],
        },
        options: {
          scales: {
            y: { position: "left", beginAtZero: true },
            y1: { position: "right", beginAtZero: true, grid: { drawOnChartArea: false } },
          },
        },
      },
      rev.data.length,
    );
    draw(
      "chart-status",
      {
        type: "doughnut",
        data: {
          labels: status.data.map((s) => s.status),
          datasets: [{ data: status.data.map((s) => s.orders), backgroundColor: PALETTE }],
        },
      },
      status.data.length,
    );
    const hbar = (rows: ProductRow[], key: "revenue" | "units", color: string) => ({
      type: "bar" as const,
      data: {
        labels: rows.map((p) => p.sku || p.productId.slice(0, 8)),
        datasets: [{ label: key, data: rows.map((p) => p[key]), backgroundColor: color }],
      },
      options: { indexAxis: "y" as const, plugins: { legend: { display: false } } },
    });
    draw("chart-top-revenue", hbar(topRev.data, "revenue", "#20bf6b"), topRev.data.length);
    draw("chart-top-units", hbar(topUnits.data, "units", "#8854d0"), topUnits.data.length);
    draw(
      "chart-customers",
      {
        type: "bar",
        data: {
          labels: cust.data.map((b) => label(b.bucket, granularity)),
          datasets: [
            { label: "new", data: cust.data.map((b) => b.newCustomers), backgroundColor: "#0fb9b1" },
            { label: "returning", data: cust.data.map((b) => b.returningCustomers), backgroundColor: "#fa8231" },
          ],
        },
        options: { scales: { x: { stacked: true }, y: { stacked: true, beginAtZero: true } } },
      },
      cust.data.length,
    );
    draw(
      "chart-stock",
      {
        type: "bar",
        data: {
          labels: stock.data.map((p) => p.sku),
          datasets: [{ label: "stock", data: stock.data.map((p) => p.stock), backgroundColor: "#eb3b5a" }],
        },
        options: { plugins: { legend: { display: false } }, scales: { y: { beginAtZero: true } } },
      },
      stock.data.length,
    );
    // The oldest freshness of the answers is the honest one for the whole page.
    const all = [rev, status, topRev, topUnits, cust, stock, aov].map((a) => a.freshness);
    showFreshness(all.reduce((a, b) => ((a.lagMs ?? Infinity) >= (b.lagMs ?? Infinity) ? a : b)));
    showError(null);
    $("login").style.display = "none";
    window.__dashboard.renders++;
    document.body.dataset.renders = String(window.__dashboard.renders);
  } catch (err) {
    if (err instanceof HttpError && err.status === 401) {
      $("login").style.display = "flex";
      showError("The read API needs a token: enter it above (kept in this tab only).");
    } else {
      showError(err instanceof Error ? err.message : String(err));
    }
  } finally {
    inFlight = false;
  }
}

let timer: number | undefined;
function schedule(): void {
  if (timer !== undefined) clearInterval(timer);
  const ms = Number($<HTMLSelectElement>("refresh").value);
  timer = ms > 0 ? window.setInterval(() => void refresh(), ms) : undefined;
}

takeTokenFromFragment();
$("save-token").addEventListener("click", () => {
  sessionStorage.setItem(TOKEN_KEY, $<HTMLInputElement>("token").value.trim());
  $<HTMLInputElement>("token").value = "";
  void refresh();
});
$("logout").addEventListener("click", () => {
  sessionStorage.removeItem(TOKEN_KEY);
  void refresh();
});
for (const id of ["range", "granularity", "threshold"]) $(id).addEventListener("change", () => void refresh());
$("refresh").addEventListener("change", schedule);
schedule();
void refresh();
