/** Tiny DOM helpers: elements built with textContent only, so no value from the data is ever parsed as HTML. */
export const $ = <T extends HTMLElement>(id: string) => document.getElementById(id) as T;

type Attrs = Record<string, string | boolean | undefined>;

export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: (Node | string | null | undefined)[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(attrs)) {
    if (v === undefined || v === false) continue;
    if (k === "class") el.className = String(v);
    else el.setAttribute(k, v === true ? "" : v);
  }
  for (const c of children) if (c !== null && c !== undefined) el.append(c);
  return el;
}

export function show(el: HTMLElement, visible: boolean): void {
  el.hidden = !visible;
}

export function options(select: HTMLSelectElement, items: { value: string; label: string }[], selected: string): void {
  select.replaceChildren(...items.map((i) => h("option", { value: i.value, selected: i.value === selected }, i.label)));
  if (items.some((i) => i.value === selected)) select.value = selected;
}
