import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
export type Schemas = components["schemas"];

/**
 * The query string as the service reads it: every key and value percent-encoded (column names are Chinese and may
 * hold any character), an array as the key repeated, and an object parameter (filter) one key=value per entry, as
 * openapi.json declares it (style form, exploded): its keys are whole query keys, filter[列] or filter[列][op].
 */
export function serializeQuery(query: Record<string, unknown>): string {
  const search = new URLSearchParams();
  const add = (key: string, value: unknown) => {
    if (value !== undefined && value !== null) search.append(key, String(value));
  };
  for (const [name, value] of Object.entries(query)) {
    if (Array.isArray(value)) for (const item of value) add(name, item);
    else if (typeof value === "object" && value !== null) for (const [key, item] of Object.entries(value)) add(key, item);
    else add(name, value);
  }
  return search.toString();
}

/** A client of the AkshareWeb API at baseUrl (e.g. http://localhost:8000); every call is typed from openapi.json. */
export function createAkshareWebClient(baseUrl: string) {
  let accessToken: string | undefined;
  const client = createClient<paths>({ baseUrl, querySerializer: serializeQuery });
  const bearer: Middleware = {
    onRequest({ request }) {
      if (accessToken !== undefined) request.headers.set("Authorization", `Bearer ${accessToken}`);
      return request;
    },
  };
  client.use(bearer);
  return Object.assign(client, {
    /** Sends this access token with every later call (undefined: none). */
    useToken(token: string | undefined) {
      accessToken = token;
    },
  });
}

export type AkshareWebClient = ReturnType<typeof createAkshareWebClient>;
