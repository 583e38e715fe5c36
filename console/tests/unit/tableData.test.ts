import { describe, expect, it } from "vitest";
import { chartShape, filterQuery, hasCandles, linkedConditions, linkedFilters, parseCsv, queryWith, type Column } from "@/logic/tableData";

const col = (name: string, type: string): Column => ({ name, type, nullable: true, key: null, comment: null, original_name: name });

describe("what a table can be drawn as", () => {
  it("candlesticks with volume from AKShare's Chinese columns", () => {
    const shape = chartShape([col("id", "bigint(20)"), col("日期", "date"), col("股票代码", "varchar(16)"), col("开盘", "double"), col("收盘", "double"),
      col("最高", "double"), col("最低", "double"), col("成交量", "bigint(20)"), col("_row_hash", "binary(16)")]);
    expect(hasCandles(shape)).toBe(true);
    expect([shape.date?.name, shape.open?.name, shape.close?.name, shape.high?.name, shape.low?.name, shape.volume?.name]).toEqual(["日期", "开盘", "收盘", "最高", "最低", "成交量"]);
    expect(shape.keys.map((k) => k.name)).toEqual(["股票代码"]);
    expect(shape.numeric.map((c) => c.name)).not.toContain("id");
  });

  it("or English ones; a line when there is no OHLC; nothing without a date", () => {
    expect(hasCandles(chartShape([col("date", "date"), col("open", "double"), col("close", "double"), col("high", "double"), col("low", "double")]))).toBe(true);
    const cpi = chartShape([col("月份", "varchar(32)"), col("统计时间", "datetime"), col("全国-当月", "double")]);
    expect(hasCandles(cpi)).toBe(false);
    expect(cpi.date?.name).toBe("统计时间");
    expect(cpi.numeric.map((c) => c.name)).toEqual(["全国-当月"]);
    expect(chartShape([col("代码", "varchar(16)"), col("最新价", "double")]).date).toBeUndefined();
  });
});

describe("the export as the chart reads it", () => {
  it("parses the BOM, quotes, doubled quotes, commas and line breaks in fields", () => {
    expect(parseCsv('\ufeff日期,名称,收盘\r\n2024-01-02,"平安,银行",10.5\r\n2024-01-03,"说""好""",-1\r\n')).toEqual([
      ["日期", "名称", "收盘"],
      ["2024-01-02", "平安,银行", "10.5"],
      ["2024-01-03", '说"好"', "-1"],
    ]);
    expect(parseCsv('a,b\n"x\ny",2')).toEqual([["a", "b"], ["x\ny", "2"]]);
  });

  it("filters as the data page takes them", () => {
    expect(filterQuery([
      { column: "股票代码", op: "eq", value: "000001" },
      { column: "日期", op: "gte", value: "2024-01-01" },
      { column: "日期", op: "lt", value: "2025-01-01" },
      { column: "名称", op: "like", value: "" },
    ])).toEqual({ 股票代码: { eq: "000001" }, 日期: { gte: "2024-01-01", lt: "2025-01-01" } });
  });

  it("and the query string that carries them, names percent-encoded, empty values left out", () => {
    const query = queryWith([
      { column: "股票代码", op: "eq", value: "000001" },
      { column: "日期", op: "gte", value: "2024-01-01" },
    ])({ page: 1, status: "gaps", from: "", to: undefined });
    expect(query).toBe("page=1&status=gaps&filter%5B%E8%82%A1%E7%A5%A8%E4%BB%A3%E7%A0%81%5D=000001&filter%5B%E6%97%A5%E6%9C%9F%5D%5Bgte%5D=2024-01-01");
    expect(new URLSearchParams(query).get("filter[股票代码]")).toBe("000001");
  });

  it("a coverage key as a link's query, read back as equalities on the table's columns", () => {
    const query = { tab: "data", ...linkedFilters({ 股票代码: "000004", period: null, adjust: "qfq" }) };
    expect(query).toEqual({ tab: "data", "f.股票代码": "000004", "f.adjust": "qfq" });
    const columns = [col("股票代码", "varchar(16)"), col("日期", "date"), { ...col("adjust_type", "varchar(8)"), original_name: "adjust" }];
    expect(linkedConditions({ ...query, "f.nope": "1", "f.日期": ["2024-01-02", "2024-01-03"], "f.名称": "" }, columns)).toEqual([
      { column: "股票代码", op: "eq", value: "000004" },
      { column: "adjust_type", op: "eq", value: "qfq" },
    ]);
  });
});
