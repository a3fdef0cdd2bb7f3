import createClient from "openapi-fetch";
import type { paths } from "./schema";

/** An RFC 9457 problem as the API returns it (field errors in `errors`). */
export interface Problem {
  type?: string;
  title?: string;
  status?: number;
  detail?: string;
  code?: string;
  errors?: { loc?: (string | number)[]; msg?: string; type?: string }[];
  [key: string]: unknown;
}

/** A failed API call: the problem it answered with and the request id support can look up. */
export class ApiError extends Error {
  readonly status: number;
  readonly problem: Problem;
  readonly requestId: string | null;

  constructor(status: number, problem: Problem, requestId: string | null) {
    super(problem.detail ?? problem.title ?? `HTTP ${status}`);
    this.status = status;
    this.problem = problem;
    this.requestId = requestId;
  }
}

type UnauthenticatedListener = () => void;
let onUnauthenticated: UnauthenticatedListener = () => undefined;

/** Who to tell when the session is gone for good (the app sends the user to login). */
export function setUnauthenticatedListener(listener: UnauthenticatedListener): void {
  onUnauthenticated = listener;
}

let refreshing: Promise<boolean> | null = null;

/** One refresh at a time: parallel 401s wait for the same rotation instead of racing (a reused
 * refresh token revokes every session of the user). */
function refreshOnce(): Promise<boolean> {
  refreshing ??= fetch("/api/auth/refresh", { method: "POST", credentials: "include" })
    .then((response) => response.ok)
    .catch(() => false)
    .finally(() => {
      refreshing = null;
    });
  return refreshing;
}

/** fetch with the httpOnly session cookie: a 401 refreshes the session once and retries once. */
export async function sessionFetch(input: Request): Promise<Response> {
  const retry = input.clone();
  const response = await fetch(input);
  if (response.status !== 401 || new URL(input.url).pathname.startsWith("/api/auth/")) {
    return response;
  }
  if (await refreshOnce()) {
    const again = await fetch(retry);
    if (again.status !== 401) return again;
  }
  onUnauthenticated();
  return response;
}

export const api = createClient<paths>({
  baseUrl: typeof window === "undefined" ? "http://localhost" : window.location.origin,
  credentials: "include",
  fetch: sessionFetch,
});

/** The data of an openapi-fetch result, or an ApiError carrying the problem. */
export function unwrap<T>(result: { data?: T; error?: unknown; response: Response }): T {
  if (result.error !== undefined || !result.response.ok) {
    const problem = (result.error && typeof result.error === "object" ? result.error : {}) as Problem;
    throw new ApiError(result.response.status, problem, result.response.headers.get("x-request-id"));
  }
  return result.data as T;
}

/** Field errors of a problem as {field: message}, for forms (the last `loc` part names the field). */
export function fieldErrors(error: unknown): Record<string, string> {
  if (!(error instanceof ApiError)) return {};
  const fields: Record<string, string> = {};
  for (const item of error.problem.errors ?? []) {
    const name = item.loc?.[item.loc.length - 1];
    if (typeof name === "string" && item.msg) fields[name] = item.msg;
  }
  const field = error.problem.field;
  if (typeof field === "string" && error.problem.detail) fields[field] ??= error.problem.detail;
  return fields;
}
