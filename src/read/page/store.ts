import { formatState, parseState, type ViewState } from "./state.js";

/** The one view state of the page, mirrored in the URL; views re-render when it changes. */
let state: ViewState = parseState(location.search);
const listeners: ((s: ViewState) => void)[] = [];

export function getState(): ViewState {
  return state;
}

export function onStateChange(fn: (s: ViewState) => void): void {
  listeners.push(fn);
}

/** Applies `patch`, writes the URL (a new history entry unless `replace`), and tells the listeners. */
export function setState(patch: Partial<ViewState>, opts: { replace?: boolean } = {}): void {
  state = { ...state, ...patch };
  const url = `${location.pathname}${formatState(state)}`;
  if (opts.replace) history.replaceState(null, "", url);
  else if (url !== `${location.pathname}${location.search}`) history.pushState(null, "", url);
  for (const fn of listeners) fn(state);
}

/** Back/forward: the URL is the truth. */
window.addEventListener("popstate", () => {
  state = parseState(location.search);
  for (const fn of listeners) fn(state);
});
