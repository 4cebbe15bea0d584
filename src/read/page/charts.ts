import { Chart, type ChartConfiguration, registerables } from "chart.js";
import { $ } from "./dom.js";

Chart.register(...registerables);

// chart.js's generics do not survive a map of mixed chart types; the configs are checked where they are written.
export type AnyConfig = ChartConfiguration<"bar" | "line" | "doughnut", (number | null)[], string>;
type AnyChart = Chart<"bar" | "line" | "doughnut", (number | null)[], string>;
const charts = new Map<string, AnyChart>();

export const PALETTE = ["#3867d6", "#20bf6b", "#f7b731", "#eb3b5a", "#8854d0", "#0fb9b1", "#fa8231", "#4b6584"];

/** Draws (or updates in place) the chart of canvas `id`; `points` goes to the canvas's data-points for tests. */
export function draw(id: string, config: AnyConfig, points: number): void {
  const canvas = $<HTMLCanvasElement>(id);
  canvas.dataset.points = String(points);
  const kind = (config as { type?: string }).type ?? "";
  const existing = charts.get(id);
  if (existing && canvas.dataset.kind === kind) {
    existing.data = config.data;
    existing.update("none");
    return;
  }
  existing?.destroy(); // another kind of chart on this canvas: start over
  canvas.dataset.kind = kind;
  charts.set(
    id,
    new Chart(canvas, {
      ...config,
      options: { responsive: true, maintainAspectRatio: false, animation: false, ...config.options },
    } as ChartConfiguration<"bar", number[], string>) as unknown as AnyChart,
  );
}
