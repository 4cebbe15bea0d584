import { api } from "./api.js";
import { draw, PALETTE } from "./charts.js";
import { $, show } from "./dom.js";
import { reportError } from "./errors.js";
import { oldest, showError, showFreshness } from "./status.js";

/** The demo shop's dashboard (the page's default view) over /api/dashboard/*. */

function chart(id: string, config: Parameters<typeof draw>[1], points: number): void {
  window.__dashboard.points[id] = points;
  draw(id, config, points);
}

const money = (n: number) => n.toLocaleString(undefined, { minimumFractionDigits: 2, maximumFractionDigits: 2 });

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
/** Loads every card of the shop dashboard; errors go to the page's error line (401: the login field). */
export async function refreshShop(): Promise<void> {
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

    chart(
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
    chart(
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
    chart("chart-top-revenue", hbar(topRev.data, "revenue", "#20bf6b"), topRev.data.length);
    chart("chart-top-units", hbar(topUnits.data, "units", "#8854d0"), topUnits.data.length);
    chart(
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
    chart(
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
    showFreshness(oldest([rev, status, topRev, topUnits, cust, stock, aov].map((a) => a.freshness)));
    showError(null);
    show($("login"), false);
    window.__dashboard.renders++;
    document.body.dataset.renders = String(window.__dashboard.renders);
  } catch (err) {
    reportError(err);
  } finally {
    inFlight = false;
  }
}
