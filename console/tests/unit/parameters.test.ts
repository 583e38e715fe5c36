import { describe, expect, it } from "vitest";
import {
  buildParameters,
  FilterSyntaxError,
  formatDate,
  initialState,
  isRelativeDate,
  kindsFor,
  resolveRelativeDate,
  splitList,
  type ParameterView,
} from "@/logic/parameters";

const p = (name: string, type: string, extra: Partial<ParameterView> = {}): ParameterView => ({
  name,
  type,
  required: false,
  default_value: null,
  description: null,
  format: null,
  allowed: null,
  ...extra,
});

const bars = [
  p("symbol", "string", { required: true }),
  p("period", "string", { default_value: "daily", allowed: ["daily", "weekly", "monthly"] }),
  p("start_date", "date", { default_value: "today-30d", format: "yyyyMMdd" }),
  p("end_date", "date", { default_value: "today", format: "yyyyMMdd" }),
  p("adjust", "string", { default_value: "", allowed: ["", "qfq", "hfq"] }),
];
const today = { year: 2026, month: 11, day: 29 };
const iso = (d: Date | null) => d?.toISOString().slice(0, 10);

describe("relative dates, as the service resolves them", () => {
  it.each([
    ["today", "2026-11-29"],
    ["today-30d", "2026-10-30"],
    ["today+1w", "2026-12-06"],
    ["today-1m", "2026-10-29"],
    ["today-1y", "2025-11-29"],
    ["month_end", "2026-10-31"],
    ["month_end-3m", "2026-07-31"],
    ["quarter_end", "2026-09-30"],
    ["quarter_end-1q", "2026-06-30"],
    ["year_end", "2025-12-31"],
    ["year_end-1y", "2024-12-31"],
  ])("%s on 2026-11-29 is %s", (text, expected) => {
    expect(isRelativeDate(text)).toBe(true);
    expect(iso(resolveRelativeDate(text, today))).toBe(expected);
  });

  it("a month back from the 31st is the month's last day", () => {
    expect(iso(resolveRelativeDate("today-1m", { year: 2026, month: 3, day: 31 }))).toBe("2026-02-28");
  });

  it("anything else is no relative date", () => {
    for (const text of ["20240101", "today-30", "quarter_end-1m", "yesterday"]) {
      expect(isRelativeDate(text)).toBe(false);
      expect(resolveRelativeDate(text, today)).toBeNull();
    }
  });

  it("formats dates the way AKShare's functions take them", () => {
    const d = new Date(Date.UTC(2024, 0, 2));
    expect(formatDate(d, "yyyyMMdd")).toBe("20240102");
    expect(formatDate(d, "yyyy-MM-dd")).toBe("2024-01-02");
    expect(formatDate(d, null)).toBe("20240102");
  });
});

describe("the parameters a form sends", () => {
  it("a task leaves defaults to the script and sends what was typed", () => {
    const state = initialState(bars);
    state["symbol"]!.value = "000001";
    expect(buildParameters(bars, state)).toEqual({ symbol: "000001" });
    state["period"]!.value = "weekly";
    state["adjust"]!.value = "hfq";
    expect(buildParameters(bars, state)).toEqual({ symbol: "000001", period: "weekly", adjust: "hfq" });
  });

  it("a download sends every default, relative dates resolved in the function's format, the empty string kept", () => {
    const state = initialState(bars);
    state["symbol"]!.value = "600519";
    expect(buildParameters(bars, state, { forDownload: true, today })).toEqual({
      symbol: "600519",
      period: "daily",
      start_date: "20261030",
      end_date: "20261129",
      adjust: "",
    });
  });

  it("a required parameter left empty is left to the service, which names it", () => {
    expect(buildParameters(bars, initialState(bars))).toEqual({});
  });

  it("sources: a list, a table's column with a filter, since the last stored date", () => {
    const state = initialState(bars);
    state["symbol"]!.kind = "list";
    state["symbol"]!.list = "000001\n600519, 300750，000002\n\n";
    state["start_date"]!.kind = "since_last";
    state["start_date"]!.sinceColumn = "日期";
    state["start_date"]!.overlapDays = 5;
    expect(buildParameters(bars, state)).toEqual({
      symbol: { values: ["000001", "600519", "300750", "000002"] },
      start_date: { since_last: "日期", overlap_days: 5 },
    });
    state["symbol"]!.kind = "table";
    state["symbol"]!.table = "ak_stock_info_a_code_name";
    state["symbol"]!.column = "code";
    state["symbol"]!.filter = '{"market": "sh", "上市日期": {"gte": "2020-01-01"}}';
    expect(buildParameters(bars, state)["symbol"]).toEqual({
      from_table: "ak_stock_info_a_code_name",
      column: "code",
      filter: { market: "sh", 上市日期: { gte: "2020-01-01" } },
    });
  });

  it("a filter that is not a JSON object names its parameter", () => {
    const state = initialState(bars);
    state["symbol"]!.kind = "table";
    state["symbol"]!.filter = "market=sh";
    expect(() => buildParameters(bars, state)).toThrow(FilterSyntaxError);
    state["symbol"]!.filter = "[1]";
    try {
      buildParameters(bars, state);
    } catch (e) {
      expect((e as FilterSyntaxError).parameter).toBe("symbol");
    }
  });

  it("a bool is sent as true or false, numbers as typed", () => {
    const defs = [p("flag", "bool"), p("limit", "int", { default_value: "10" })];
    const state = initialState(defs);
    state["flag"]!.value = "true";
    state["limit"]!.value = "20";
    expect(buildParameters(defs, state)).toEqual({ flag: true, limit: "20" });
    expect(kindsFor(defs[0]!)).toEqual(["value"]);
  });

  it("a task's stored parameters come back into the form, sources included", () => {
    const state = initialState(bars, {
      symbol: { from_table: "ak_codes", column: "code", filter: { market: "sh" } },
      start_date: { since_last: "日期", overlap_days: 3 },
      period: "monthly",
    });
    expect(state["symbol"]).toMatchObject({ kind: "table", table: "ak_codes", column: "code", filter: '{"market":"sh"}' });
    expect(state["start_date"]).toMatchObject({ kind: "since_last", sinceColumn: "日期", overlapDays: 3 });
    expect(state["period"]).toMatchObject({ kind: "value", value: "monthly" });
    expect(buildParameters(bars, state)).toEqual({
      symbol: { from_table: "ak_codes", column: "code", filter: { market: "sh" } },
      start_date: { since_last: "日期", overlap_days: 3 },
      period: "monthly",
    });
    expect(splitList(" a ,b\n")).toEqual(["a", "b"]);
  });
});
