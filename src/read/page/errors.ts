import { HttpError } from "./api.js";
import { $, show } from "./dom.js";
import { showError } from "./status.js";

/** A failed load: 401 opens the login field, anything else is shown in the error line. */
export function reportError(err: unknown): void {
  if (err instanceof HttpError && err.status === 401) {
    show($("login"), true);
    showError("The read API needs a token: enter it above (kept in this tab only).");
  } else {
    showError(err instanceof Error ? err.message : String(err));
  }
}
