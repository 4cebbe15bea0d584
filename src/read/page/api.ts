/**
 * The page's calls to the read API. Token: open the page as `/#token=<READ_API_TOKEN>` (the
 * fragment never reaches a server or a log) or type it in the login field; it is kept in this
 * tab's sessionStorage and sent as `Authorization: Bearer`.
 */
export const TOKEN_KEY = "cqrs-sidecar.readToken";

export interface Freshness {
  lsn: string | null;
  commitTime: string | null;
  lagMs: number | null;
}
export interface Answer<T> {
  data: T;
  freshness: Freshness;
}
type Problem = { status: number; title: string; detail: string; errors?: { field: string; reason: string }[] };

export class HttpError extends Error {
  constructor(
    readonly status: number,
    message: string,
  ) {
    super(message);
  }
}

/** Moves `#token=…` into sessionStorage and out of the address bar (the rest of the URL stays). */
export function takeTokenFromFragment(): void {
  const m = /(?:^#|&)token=([^&]+)/.exec(location.hash);
  if (m?.[1]) {
    sessionStorage.setItem(TOKEN_KEY, decodeURIComponent(m[1]));
    history.replaceState(history.state, "", location.pathname + location.search);
  }
}

function headers(): Record<string, string> {
  const token = sessionStorage.getItem(TOKEN_KEY);
  return token ? { authorization: `Bearer ${token}` } : {};
}

async function problemOf(res: Response): Promise<HttpError> {
  const p = (await res.json().catch(() => null)) as Problem | null;
  const fields = p?.errors?.map((e) => `${e.field}: ${e.reason}`).join("; ");
  return new HttpError(res.status, p ? `${p.title}: ${fields || p.detail}` : `HTTP ${res.status}`);
}

export type Params = Record<string, string> | URLSearchParams;

export async function api<T>(path: string, params: Params = {}): Promise<Answer<T>> {
  const res = await fetch(`${path}?${new URLSearchParams(params)}`, { headers: headers(), cache: "no-store" });
  if (!res.ok) throw await problemOf(res);
  return (await res.json()) as Answer<T>;
}

/**
 * Fetches a CSV export (the token travels in a header, so no plain link can) and hands it to the
 * browser as a download. Returns what the file says about itself.
 */
export async function downloadCsv(path: string, params: Params, filename: string) {
  const res = await fetch(`${path}?${new URLSearchParams(params)}`, { headers: headers(), cache: "no-store" });
  if (!res.ok) throw await problemOf(res);
  const blob = await res.blob();
  const url = URL.createObjectURL(blob);
  const a = document.createElement("a");
  a.href = url;
  a.download = filename;
  document.body.append(a);
  a.click();
  a.remove();
  setTimeout(() => URL.revokeObjectURL(url), 10_000);
  const text = await blob.text();
  return {
    bytes: blob.size,
    cap: Number(res.headers.get("x-row-cap")),
    truncated: /\n# truncated:[^\n]*\n$/.test(text),
  };
}
