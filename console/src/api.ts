import { createAkshareWebClient, type Schemas } from "@client";
import type { Middleware } from "openapi-fetch";
import { locale } from "@/i18n";
import { localizedProblem } from "@/logic/problems";

export type { Schemas };

/** Where the service is, as the page's <base href> says (the service writes its path base there): "" or "/prefix". */
export const basePath: string = typeof document === "undefined" ? "" : new URL(document.baseURI).pathname.replace(/\/$/, "");

/** Every call of the console goes through the generated client: a change of the API that breaks a call breaks the build. */
export const api = createAkshareWebClient((globalThis.location?.origin ?? "http://localhost") + basePath);

/** A field the API named in a 422 (parameters.symbol, schedule_expression) and what it said about it. */
export interface FieldProblem {
  field: string;
  message: string;
}

/** An answer other than success, with the service's own message (never a stack) and the fields it named. */
export class ApiProblem extends Error {
  constructor(
    readonly status: number,
    readonly code: number,
    message: string,
    readonly fields: FieldProblem[] = [],
  ) {
    super(message);
  }

  /** The message of a field, or of a parameter: parameters.symbol[2] belongs to symbol. */
  fieldMessage(name: string): string | undefined {
    return this.fields.find((f) => f.field === name || f.field.startsWith(name + "[") || f.field.startsWith(name + "."))?.message;
  }
}

function problemOf(status: number, error: unknown): ApiProblem {
  const body = (error ?? {}) as { code?: number; message?: string; detail?: unknown };
  const fields = Array.isArray(body.detail)
    ? body.detail.filter((d): d is FieldProblem => typeof d === "object" && d !== null && "field" in d && "message" in d)
    : [];
  const message = body.message ?? `HTTP ${status}`;
  if (status !== 422) return new ApiProblem(status, body.code ?? -1, message, fields);
  // A validation error in the console's language where the wording is one it knows (the service writes English).
  const language = locale.value;
  return new ApiProblem(
    status,
    body.code ?? -1,
    localizedProblem(message, language),
    fields.map((f) => ({ field: f.field, message: localizedProblem(f.message, language) })),
  );
}

/** Listeners told when the service says the session is over (401 on a signed-in call). */
const sessionEndedListeners: Array<() => void> = [];
export function onSessionEnded(listener: () => void): void {
  sessionEndedListeners.push(listener);
}

/**
 * The data of an enveloped answer, or an ApiProblem. openapi-fetch answers {data, error, response}; the envelope's
 * data is what views want.
 */
export async function call<T>(request: Promise<{ data?: { data: T }; error?: unknown; response: Response }>): Promise<T> {
  let answer: { data?: { data: T }; error?: unknown; response: Response };
  try {
    answer = await request;
  } catch (e) {
    if (e instanceof ApiProblem) throw e;
    throw new ApiProblem(0, -1, "network");
  }
  if (answer.error !== undefined || answer.data === undefined) {
    const problem = problemOf(answer.response.status, answer.error);
    if (problem.status === 401 && !answer.response.url.includes("/api/auth/")) sessionEndedListeners.forEach((l) => l());
    throw problem;
  }
  return answer.data.data;
}

/** As call, for answers whose envelope carries no data (pause, resume, delete...). */
export async function send(request: Promise<{ data?: unknown; error?: unknown; response: Response }>): Promise<void> {
  let answer: { data?: unknown; error?: unknown; response: Response };
  try {
    answer = await request;
  } catch {
    throw new ApiProblem(0, -1, "network");
  }
  if (answer.error !== undefined || !answer.response.ok) {
    const problem = problemOf(answer.response.status, answer.error);
    if (problem.status === 401) sessionEndedListeners.forEach((l) => l());
    throw problem;
  }
}

// ---- the access token: in memory only -------------------------------------------------------------------------

let accessToken: string | undefined;
let expiresAt = 0;
let refreshing: Promise<boolean> | undefined;

export function hasToken(): boolean {
  return accessToken !== undefined;
}

export function useTokens(pair: Schemas["TokenPair"] | undefined): void {
  accessToken = pair?.access_token;
  expiresAt = pair ? Date.now() + pair.expires_in * 1000 : 0;
  api.useToken(accessToken);
}

/**
 * A new access token from the HttpOnly refresh cookie. Tabs of one browser share the cookie and each use rotates it,
 * so refreshes are taken one at a time across tabs (Web Locks): the second tab sends the cookie the first one received.
 */
export function refreshFromCookie(): Promise<boolean> {
  refreshing ??= (async () => {
    const run = async () => {
      const answer = await api.POST("/api/auth/refresh", { body: {} });
      if (answer.data) {
        useTokens(answer.data.data);
        return true;
      }
      return false;
    };
    try {
      const locks = (globalThis.navigator as Navigator | undefined)?.locks;
      return locks ? await locks.request("akshareweb-refresh", run) : await run();
    } catch {
      return false;
    } finally {
      refreshing = undefined;
    }
  })();
  return refreshing;
}

/** Renews the access token a minute before it expires, before the call that would have been refused. */
const renewal: Middleware = {
  async onRequest({ request }) {
    if (accessToken === undefined || new URL(request.url).pathname.endsWith("/api/auth/refresh")) return request;
    if (expiresAt - Date.now() < 60_000) await refreshFromCookie();
    if (accessToken !== undefined) request.headers.set("Authorization", `Bearer ${accessToken}`);
    return request;
  },
};
api.use(renewal);
