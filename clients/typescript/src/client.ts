import createClient, { type Middleware } from "openapi-fetch";
import type { components, paths } from "./schema.js";

export type { components, paths };
export type Schemas = components["schemas"];

/** A client of the AkshareWeb API at baseUrl (e.g. http://localhost:8000); every call is typed from openapi.json. */
export function createAkshareWebClient(baseUrl: string) {
  let accessToken: string | undefined;
  const client = createClient<paths>({ baseUrl });
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
