import type { Schemas } from "@client";

export type Column = Schemas["TableColumn"];

/** The data page's filter operators (filter[列][op]=v): eq is a bare filter[列]=v. */
export const OPERATORS = ["eq", "gt", "gte", "lt", "lte", "like"] as const;
export type Operator = (typeof OPERATORS)[number];

export interface Condition {
  column: string;
  op: Operator;
  value: string;
}

/** The query of /data and /export for these conditions: filter[col]=v, filter[col][op]=v, as openapi-fetch writes nested objects. */
export function filterQuery(conditions: Condition[]): Record<string, Record<string, string>> {
  const filter: Record<string, Record<string, string>> = {};
  for (const c of conditions) {
    if (c.column === "" || c.value === "") continue;
    (filter[c.column] ??= {})[c.op] = c.value;
  }
  return filter;
}

/**
 * A query string of plain values and of the filter conditions, encoded here (column names are Chinese and may hold any
 * character): for the data page, its export and a table's coverage, as openapi-fetch's querySerializer.
 */
export function queryWith(conditions: Condition[]): (query: Record<string, unknown>) => string {
  return (query) => {
    const search = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && v !== null && v !== "") search.append(k, String(v));
    for (const [column, ops] of Object.entries(filterQuery(conditions))) {
      for (const [op, value] of Object.entries(ops)) search.append(op === "eq" ? `filter[${column}]` : `filter[${column}][${op}]`, value);
    }
    return search.toString();
  };
}

/** A data page opened by a link with its filters set (a coverage key's rows): ?f.<column>=<value>, each an equality. */
const LINKED = "f.";

/** A key's values as a link's query: { 股票代码: "000004" } -> { "f.股票代码": "000004" } (a null value is no filter). */
export function linkedFilters(key: Record<string, unknown>): Record<string, string> {
  const out: Record<string, string> = {};
  for (const [column, value] of Object.entries(key)) if (value !== null && value !== undefined) out[LINKED + column] = String(value);
  return out;
}

/** The equalities a link's query asks for, on the table's columns (by SQL or AKShare name); anything else is ignored. */
export function linkedConditions(query: Record<string, unknown>, columns: Column[]): Condition[] {
  const out: Condition[] = [];
  for (const [name, value] of Object.entries(query)) {
    if (!name.startsWith(LINKED) || typeof value !== "string" || value === "") continue;
    const wanted = name.slice(LINKED.length);
    const column = columns.find((c) => c.name === wanted || c.original_name === wanted);
    if (column) out.push({ column: column.name, op: "eq", value });
  }
  return out;
}

const NUMERIC = /^(tinyint|smallint|mediumint|int|integer|bigint|decimal|numeric|float|double|real)/i;
const DATE = /^(date|datetime|timestamp)/i;

export function isNumeric(column: Column): boolean {
  return NUMERIC.test(column.type);
}

export function isDate(column: Column): boolean {
  return DATE.test(column.type);
}

/** Bookkeeping columns the engine adds (_execution_id, _collected_at, _row_hash) are not data. */
export function isData(column: Column): boolean {
  return !column.name.startsWith("_");
}

const NAMES = {
  date: ["日期", "date", "trade_date", "时间", "datetime", "交易日期"],
  open: ["开盘", "open", "开盘价"],
  close: ["收盘", "close", "收盘价"],
  high: ["最高", "high", "最高价"],
  low: ["最低", "low", "最低价"],
  volume: ["成交量", "volume", "vol"],
};

function find(columns: Column[], names: string[]): Column | undefined {
  for (const name of names) {
    const hit = columns.find((c) => c.name.toLowerCase() === name || c.original_name.toLowerCase() === name);
    if (hit) return hit;
  }
  return undefined;
}

export interface ChartShape {
  date?: Column;
  open?: Column;
  close?: Column;
  high?: Column;
  low?: Column;
  volume?: Column;
  numeric: Column[];
  /** Text columns that name a series (a symbol, a period): what a chart is drawn for. */
  keys: Column[];
}

/** What a table can be drawn as: candlesticks when it has a date and OHLC columns, a line of any numeric column over the date. */
export function chartShape(columns: Column[]): ChartShape {
  const data = columns.filter(isData);
  const date = find(data, NAMES.date) ?? data.find(isDate);
  const shape: ChartShape = {
    numeric: data.filter((c) => isNumeric(c) && c.name !== "id"),
    keys: data.filter((c) => !isNumeric(c) && !isDate(c) && c !== date),
  };
  if (date) shape.date = date;
  for (const part of ["open", "close", "high", "low", "volume"] as const) {
    const hit = find(data, NAMES[part]);
    if (hit) shape[part] = hit;
  }
  return shape;
}

export function hasCandles(shape: ChartShape): boolean {
  return Boolean(shape.date && shape.open && shape.close && shape.high && shape.low);
}

/** RFC 4180 CSV as the export writes it (UTF-8 with a BOM, quoted fields with doubled quotes), into rows of text. */
export function parseCsv(text: string): string[][] {
  const rows: string[][] = [];
  let row: string[] = [];
  let field = "";
  let quoted = false;
  let i = text.charCodeAt(0) === 0xfeff ? 1 : 0;
  for (; i < text.length; i++) {
    const ch = text[i]!;
    if (quoted) {
      if (ch === '"') {
        if (text[i + 1] === '"') {
          field += '"';
          i++;
        } else quoted = false;
      } else field += ch;
    } else if (ch === '"') quoted = true;
    else if (ch === ",") {
      row.push(field);
      field = "";
    } else if (ch === "\n" || ch === "\r") {
      if (ch === "\r" && text[i + 1] === "\n") i++;
      row.push(field);
      rows.push(row);
      row = [];
      field = "";
    } else field += ch;
  }
  if (field !== "" || row.length > 0) {
    row.push(field);
    rows.push(row);
  }
  return rows;
}
