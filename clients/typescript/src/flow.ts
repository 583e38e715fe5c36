// The flow a new user of the SDK goes through, against a running service; exits non-zero on the first surprise.
//   AKSHAREWEB_URL             the service, e.g. http://127.0.0.1:8000
//   AKSHAREWEB_ADMIN_PASSWORD  the password of the account admin
//   AKSHAREWEB_SCRIPT          a data script whose interface takes a symbol (default stock_zh_a_hist)
//   AKSHAREWEB_SYMBOL          the symbol to download (default 000001)
import { createAkshareWebClient, type Schemas } from "./client.js";

function need(name: string): string {
  const value = process.env[name];
  if (value === undefined || value === "") throw new Error(`${name} is not set`);
  return value;
}

function check(condition: boolean, message: string): asserts condition {
  if (!condition) throw new Error(message);
}

/** The envelope's data of a success; the error envelope, typed, otherwise. */
function data<T>(result: { data?: { data: T }; error?: Schemas["ErrorEnvelope"] | undefined; response: Response }, what: string): T {
  if (result.data === undefined) {
    throw new Error(`${what}: HTTP ${result.response.status} ${JSON.stringify(result.error)}`);
  }
  return result.data.data;
}

const finished: ReadonlySet<Schemas["ExecutionStatus"]> = new Set(["completed", "failed", "cancelled", "timeout"]);

async function main(): Promise<void> {
  const api = createAkshareWebClient(need("AKSHAREWEB_URL"));
  const scriptId = process.env["AKSHAREWEB_SCRIPT"] ?? "stock_zh_a_hist";
  const symbol = process.env["AKSHAREWEB_SYMBOL"] ?? "000001";

  const admin = data(await api.POST("/api/auth/login", { body: { username: "admin", password: need("AKSHAREWEB_ADMIN_PASSWORD") } }), "login");
  api.useToken(admin.access_token);
  const me = data(await api.GET("/api/auth/me"), "me");
  check(me.role === "admin", `admin's role is ${me.role}`);

  const username = `ts_${Date.now().toString(36)}`;
  // 201 with tokens where registration is open; 202 and an inactive account where it needs an admin's approval.
  const registered = data<Schemas["TokenPair"] | Schemas["RegistrationPending"]>(await api.POST("/api/auth/register", {
    body: { username, email: `${username}@example.com`, password: "password-123", password_confirm: "password-123" },
  }), "register");
  check("access_token" in registered, `register answered ${JSON.stringify(registered)}: registration is not open`);
  api.useToken(registered.access_token);

  // Refresh rotates: the answer's refresh_token replaces the one sent. Sending the old one again is a 401 and ends
  // the session (the new tokens too): the user logs in again.
  const renewed = data(await api.POST("/api/auth/refresh", { body: { refresh_token: registered.refresh_token } }), "refresh");
  check(renewed.refresh_token !== registered.refresh_token, "refresh answered the same refresh_token");
  const replay = await api.POST("/api/auth/refresh", { body: { refresh_token: registered.refresh_token } });
  check(replay.response.status === 401 && replay.error?.code === 1001, `a used refresh_token answered ${replay.response.status}`);
  const again = data(await api.POST("/api/auth/login", { body: { username, password: "password-123" } }), "login again");
  api.useToken(again.access_token);

  const scripts = data(await api.GET("/api/scripts", { params: { query: { page: 1, page_size: 100 } } }), "list scripts");
  const script = scripts.items.find((s) => s.script_id === scriptId);
  check(script !== undefined, `script ${scriptId} is not among ${scripts.items.map((s) => s.script_id).join(", ")}`);
  const detail = data(await api.GET("/api/scripts/{scriptId}", { params: { path: { scriptId } } }), "get script");
  const interfaces = data(await api.GET("/api/interfaces", { params: { query: { keyword: detail.interface, page_size: 100 } } }), "list interfaces");
  const target = interfaces.items.find((i) => i.name === detail.interface);
  check(target !== undefined, `interface ${detail.interface} not found`);

  const started = data(await api.POST("/api/data/download", { body: { interface_id: target.id, parameters: { symbol } } }), "download");
  check(started.status === "pending", `download started as ${started.status}`);
  // Until the download has ended, however long a loaded machine takes: its end is what the flow reads next.
  let status: Schemas["DownloadStatus"];
  for (;;) {
    status = data(await api.GET("/api/data/download/{executionId}/status", { params: { path: { executionId: started.execution_id } } }), "status");
    if (finished.has(status.status)) break;
    await new Promise((resolve) => setTimeout(resolve, 200));
  }
  check(status.status === "completed", `download ended ${status.status}: ${status.error_message ?? ""}`);

  const table = started.table_name;
  const runs = data(await api.GET("/api/executions", { params: { query: { status: "completed", page_size: 20 } } }), "list executions");
  const run = runs.items.find((e) => e.execution_id === started.execution_id);
  check(run?.triggered_by === "download" && run.rows_affected === status.rows_affected, `execution ${started.execution_id}: ${JSON.stringify(run)}`);
  const tables = data(await api.GET("/api/tables", { params: { query: { page_size: 100 } } }), "list tables");
  check(tables.items.some((t) => t.table_name === table), `${table} is not among the tables`);
  const rows: Record<string, unknown>[] = [];
  for (let page = 1; ; page++) {
    const answer = data(await api.GET("/api/tables/{tableName}/data", {
      params: { path: { tableName: table }, query: { page, page_size: 2, sort_by: "id", sort_order: "asc" } },
    }), `page ${page}`);
    rows.push(...answer.items);
    if (page >= answer.total_pages) {
      check(rows.length === answer.total, `paged ${rows.length} rows of ${answer.total}`);
      break;
    }
  }

  check(rows.length > 0, "the table is empty after the download");
  const schema = data(await api.GET("/api/tables/{tableName}/schema", { params: { path: { tableName: table } } }), "schema");
  const columns = schema.columns.map((c) => c.original_name);
  check(columns.includes("id"), `schema has no id: ${columns.join(", ")}`);

  const exported = await api.GET("/api/tables/{tableName}/export", {
    params: { path: { tableName: table }, query: { format: "csv" } },
    parseAs: "text",
  });
  check(exported.response.status === 200, `export answered ${exported.response.status}`);
  check(exported.response.headers.get("content-type")?.startsWith("text/csv") === true, `export is ${exported.response.headers.get("content-type")}`);
  const lines = String(exported.data).replace(/^\uFEFF/, "").trim().split(/\r?\n/);
  check(lines.length === rows.length + 1, `export has ${lines.length - 1} rows, the table ${rows.length}`);

  // Filters: each entry of filter is a query key of its own, filter[列] or filter[列][op].
  const first = rows[0]!;
  const code = String(first["股票代码"]);
  const since = String(rows[Math.floor(rows.length / 2)]!["日期"]).slice(0, 10);
  const expected = rows.filter((r) => String(r["股票代码"]) === code && String(r["日期"]).slice(0, 10) >= since).length;
  check(expected > 0 && expected < rows.length, `the filter would keep ${expected} of ${rows.length} rows`);
  const filter = { "filter[股票代码]": code, "filter[日期][gte]": since.replaceAll("-", "") };
  const filtered = data(await api.GET("/api/tables/{tableName}/data", {
    params: { path: { tableName: table }, query: { page_size: 100, sort_by: "日期", filter } },
  }), "filtered page");
  check(filtered.total === expected, `the filtered page has ${filtered.total} rows, expected ${expected}`);
  check(filtered.items.every((r) => String(r["日期"]).slice(0, 10) >= since), `the filtered page has rows before ${since}`);
  const filteredExport = await api.GET("/api/tables/{tableName}/export", {
    params: { path: { tableName: table }, query: { format: "csv", excel_safe: false, filter } },
    parseAs: "text",
  });
  check(filteredExport.response.status === 200, `filtered export answered ${filteredExport.response.status}`);
  const filteredLines = String(filteredExport.data).replace(/^\uFEFF/, "").trim().split(/\r?\n/);
  check(filteredLines.length === expected + 1, `filtered export has ${filteredLines.length - 1} rows, expected ${expected}`);

  console.log(`flow ok: ${me.username} and ${username}; ${scripts.total} scripts; ${rows.length} rows of ${table} paged, ${columns.length} columns, ${lines.length - 1} exported, ${expected} filtered`);
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
