// The README's example, compiled with the client so it cannot drift from the generated types.
import { createAkshareWebClient } from "./client.js";

export async function readmeExample(baseUrl: string, username: string, password: string): Promise<void> {
  const api = createAkshareWebClient(baseUrl);
  const login = await api.POST("/api/auth/login", { body: { username, password } });
  if (login.error) throw new Error(`${login.error.code}: ${login.error.message}`);
  api.useToken(login.data.data.access_token);
  const page = await api.GET("/api/tables/{tableName}/data", {
    params: { path: { tableName: "ak_stock_zh_a_hist" }, query: {
      sort_by: "日期", sort_order: "desc", page_size: 20,
      filter: { "filter[股票代码]": "000001", "filter[日期][gte]": "2024-01-01" },
    } },
  });
  for (const row of page.data?.data.items ?? []) console.log(row["日期"], row["收盘"]);
}
