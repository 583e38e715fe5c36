import { computed, ref } from "vue";
import { api, call, refreshFromCookie, send, useTokens, type Schemas } from "./api";

/**
 * Who is signed in. The access token lives in api.ts's memory only; across reloads the session continues through
 * the HttpOnly refresh cookie, which no script can read. The one thing kept in storage is a flag saying a cookie
 * should be there (no secret), so a signed-out visitor's first view does not begin with a refused refresh.
 */
const SIGNED_IN_FLAG = "akshareweb.signedIn";

export const user = ref<Schemas["UserProfile"] | null>(null);
export const isAdmin = computed(() => user.value?.role === "admin");

function flag(on: boolean): void {
  try {
    if (on) localStorage.setItem(SIGNED_IN_FLAG, "1");
    else localStorage.removeItem(SIGNED_IN_FLAG);
  } catch {
    // without storage a reload asks to sign in again
  }
}

function flagged(): boolean {
  try {
    return localStorage.getItem(SIGNED_IN_FLAG) === "1";
  } catch {
    return false;
  }
}

async function loadProfile(): Promise<void> {
  user.value = await call(api.GET("/api/auth/me"));
}

export async function signIn(username: string, password: string): Promise<void> {
  const pair = await call(api.POST("/api/auth/login", { body: { username, password, refresh_cookie: true } }));
  useTokens(pair);
  flag(true);
  await loadProfile();
}

/** Registration: signed in at once when it is open; false when the account waits for an administrator. */
export async function register(body: Omit<Schemas["RegisterRequest"], "refresh_cookie">): Promise<boolean> {
  const answer = await api.POST("/api/auth/register", { body: { ...body, refresh_cookie: true } });
  if (answer.response.status === 202) return false;
  const pair = await call(Promise.resolve(answer as { data?: { data: Schemas["TokenPair"] }; error?: unknown; response: Response }));
  useTokens(pair);
  flag(true);
  await loadProfile();
  return true;
}

let restoring: Promise<boolean> | undefined;

/** After a reload: the session goes on when the refresh cookie is still good. */
export function restore(): Promise<boolean> {
  restoring ??= (async () => {
    if (user.value) return true;
    if (!flagged()) return false;
    if (!(await refreshFromCookie())) {
      flag(false);
      return false;
    }
    try {
      await loadProfile();
      return true;
    } catch {
      forget();
      return false;
    }
  })().finally(() => {
    restoring = undefined;
  });
  return restoring;
}

/** Drops what this page knows of the session (the service ended it, or the user signed out). */
export function forget(): void {
  useTokens(undefined);
  user.value = null;
  flag(false);
}

export async function signOut(): Promise<void> {
  try {
    await send(api.POST("/api/auth/logout"));
  } finally {
    forget();
  }
}
