import { describe, expect, it, vi } from "vitest";
import { mount } from "@vue/test-utils";
import type { Component } from "vue";
import { setLocale } from "@/i18n";

/** The service's health report of a table of bars; the test says what it answers. */
const report = {
  table_name: "ak_stock_zh_a_hist",
  date_column: "日期",
  key_columns: ["股票代码", "日期"],
  columns: { open: "开盘", high: "最高", low: "最低", close: "收盘", volume: "成交量", source: "names" },
  move_limit: 0.5,
  from: null,
  to: null,
  checked_at: "2024-02-01T08:00:00Z",
  counts: { high_below_low: 1, large_move: 2, zero_volume: 0 },
  items: [
    { key: { 股票代码: "000001" }, date: "2024-01-03", rule: "high_below_low", column: "最高", value: "9.5", compared_with: "9.8" },
    { key: { 股票代码: "000002" }, date: "2024-01-05", rule: "large_move", column: "收盘", value: "20.1", compared_with: "10.2" },
  ],
  total: 3,
  page: 1,
  page_size: 20,
  total_pages: 1,
};
let answer: { status: number; json: unknown } = { status: 200, json: { code: 0, message: "success", data: report } };
const urls: URL[] = [];
vi.stubGlobal("fetch", async (request: Request) => {
  urls.push(new URL(request.url));
  return new Response(JSON.stringify(answer.json), { status: answer.status, headers: { "Content-Type": "application/json" } });
});
const TableHealth: Component = (await import("@/components/TableHealth.vue")).default;
const table = { table_name: "ak_stock_zh_a_hist" } as never;
const stubs = { RouterLink: { props: ["to"], template: "<a><slot /></a>" } };

describe("a table's health tab", () => {
  it("shows the findings per rule, the rules with findings first, and each finding by key and day", async () => {
    setLocale("zh");
    const wrapper = mount(TableHealth, { props: { table }, global: { stubs } });
    await vi.waitFor(() => expect(wrapper.findAll("tbody tr")).toHaveLength(2));
    expect(urls.at(-1)!.pathname).toBe("/api/tables/ak_stock_zh_a_hist/health");
    expect(urls.at(-1)!.searchParams.get("page")).toBe("1");
    expect(urls.at(-1)!.searchParams.has("rule")).toBe(false);
    expect(wrapper.find("[data-testid=health-summary]").text()).toContain("问题数: 3");
    expect(wrapper.findAll("ul.counts li").map((li) => li.text())).toEqual(["涨跌幅过大: 2", "最高价低于最低价: 1", "交易日成交量为零: 0"]);
    const first = wrapper.findAll("tbody tr")[0]!.findAll("td").map((td) => td.text());
    expect(first).toEqual(["股票代码=000001", "2024-01-03", "最高价低于最低价", "最高", "9.5", "9.8"]);

    setLocale("en");
    await vi.waitFor(() => expect(wrapper.findAll("ul.counts li")[0]!.text()).toBe("large move: 2"));
    expect(wrapper.findAll("tbody tr")[1]!.findAll("td")[2]!.text()).toBe("large move");
    wrapper.unmount();
  });

  it("says why a table cannot be checked", async () => {
    setLocale("en");
    answer = {
      status: 422,
      json: { code: 3001, message: "health checks need price or volume columns: none found", detail: [{ field: "table_name", message: "none found" }] },
    };
    const wrapper = mount(TableHealth, { props: { table }, global: { stubs } });
    await vi.waitFor(() => expect(wrapper.find("[role=alert]").exists()).toBe(true));
    expect(wrapper.find("[role=alert]").text()).toContain("health checks need price or volume columns: none found: table_name: none found");
    wrapper.unmount();
  });
});
