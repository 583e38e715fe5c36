import type { Schemas } from "@client";
import { beijingToday } from "./format";

export type ParameterView = Schemas["ParameterView"];

/** How a parameter gets its value: one value, a list (one part each), a managed table's column, or since the last stored date. */
export type SourceKind = "value" | "list" | "table" | "since_last";

export interface ParameterState {
  kind: SourceKind;
  /** One value as typed ("true"/"false" for a bool). */
  value: string;
  /** A list, one value a line or comma-separated. */
  list: string;
  table: string;
  column: string;
  /** The table source's filter as JSON text (the data page's operators), empty for none. */
  filter: string;
  sinceColumn: string;
  overlapDays: number;
}

export type FormState = Record<string, ParameterState>;

/** The sources a parameter of this type may take (since_last is for dates only). */
export function kindsFor(parameter: ParameterView): SourceKind[] {
  if (parameter.type === "date") return ["value", "list", "since_last"];
  if (parameter.type === "bool") return ["value"];
  return ["value", "list", "table"];
}

/** The form as a parameter list starts it: each parameter at its default, or what a task already holds. */
export function initialState(parameters: ParameterView[], given: Record<string, unknown> = {}): FormState {
  const state: FormState = {};
  for (const p of parameters) {
    const s: ParameterState = {
      kind: "value",
      value: p.default_value ?? "",
      list: "",
      table: "",
      column: "",
      filter: "",
      sinceColumn: "",
      overlapDays: 5,
    };
    const held = given[p.name];
    if (held !== undefined && held !== null) {
      if (typeof held === "object" && !Array.isArray(held)) {
        const source = held as Record<string, unknown>;
        if (Array.isArray(source["values"])) {
          s.kind = "list";
          s.list = (source["values"] as unknown[]).map(String).join("\n");
        } else if (typeof source["from_table"] === "string") {
          s.kind = "table";
          s.table = source["from_table"];
          s.column = typeof source["column"] === "string" ? source["column"] : "";
          s.filter = source["filter"] ? JSON.stringify(source["filter"]) : "";
        } else if (typeof source["since_last"] === "string") {
          s.kind = "since_last";
          s.sinceColumn = source["since_last"];
          s.overlapDays = typeof source["overlap_days"] === "number" ? source["overlap_days"] : 0;
        }
      } else {
        s.value = typeof held === "boolean" ? String(held) : String(held);
      }
    }
    state[p.name] = s;
  }
  return state;
}

const RELATIVE = /^(?:(today)(?:([+-])(\d{1,4})([dwmy]))?|(quarter_end)(?:-(\d{1,3})q)?|(month_end)(?:-(\d{1,4})m)?|(year_end)(?:-(\d{1,3})y)?)$/;

export function isRelativeDate(text: string): boolean {
  return RELATIVE.test(text);
}

function utc(year: number, month: number, day: number): Date {
  return new Date(Date.UTC(year, month - 1, day));
}

function addMonths(date: Date, months: number): Date {
  const target = utc(date.getUTCFullYear(), date.getUTCMonth() + 1 + months, 1);
  const lastDay = utc(target.getUTCFullYear(), target.getUTCMonth() + 2, 0).getUTCDate();
  return utc(target.getUTCFullYear(), target.getUTCMonth() + 1, Math.min(date.getUTCDate(), lastDay));
}

/** The date a relative expression names on today (the service's RelativeDates, the same rules); null when it is not one. */
export function resolveRelativeDate(text: string, today: { year: number; month: number; day: number }): Date | null {
  const m = RELATIVE.exec(text);
  if (!m) return null;
  const now = utc(today.year, today.month, today.day);
  const firstOfMonth = utc(today.year, today.month, 1);
  const dayBefore = (d: Date) => new Date(d.getTime() - 86_400_000);
  if (m[1]) {
    const n = m[3] ? Number(m[3]) * (m[2] === "-" ? -1 : 1) : 0;
    switch (m[4]) {
      case "d":
        return new Date(now.getTime() + n * 86_400_000);
      case "w":
        return new Date(now.getTime() + 7 * n * 86_400_000);
      case "m":
        return addMonths(now, n);
      case "y":
        return addMonths(now, 12 * n);
      default:
        return now;
    }
  }
  if (m[5]) return dayBefore(addMonths(firstOfMonth, -((today.month - 1) % 3) - 3 * Number(m[6] ?? 0)));
  if (m[7]) return dayBefore(addMonths(firstOfMonth, -Number(m[8] ?? 0)));
  return dayBefore(utc(today.year - Number(m[10] ?? 0), 1, 1));
}

/** A date in a .NET-style format: yyyyMMdd, yyyy-MM-dd, yyyy/MM/dd. */
export function formatDate(date: Date, format: string | null): string {
  const pad = (n: number, w: number) => String(n).padStart(w, "0");
  return (format ?? "yyyyMMdd")
    .replace("yyyy", pad(date.getUTCFullYear(), 4))
    .replace("MM", pad(date.getUTCMonth() + 1, 2))
    .replace("dd", pad(date.getUTCDate(), 2));
}

export interface BuildOptions {
  /** A download goes to the interface, whose defaults are AKShare's: send the script's values, dates resolved. */
  forDownload?: boolean;
  today?: { year: number; month: number; day: number };
}

function typed(parameter: ParameterView, text: string, options: BuildOptions): unknown {
  if (parameter.type === "bool") return text === "true";
  if (parameter.type === "date" && options.forDownload) {
    const date = resolveRelativeDate(text, options.today ?? beijingToday());
    if (date) return formatDate(date, parameter.format);
  }
  return text;
}

/** Splits a list as people paste one: lines, commas (ASCII or Chinese), spaces around. */
export function splitList(text: string): string[] {
  return text
    .split(/[\n,，]/)
    .map((v) => v.trim())
    .filter((v) => v.length > 0);
}

export class FilterSyntaxError extends Error {
  constructor(readonly parameter: string) {
    super(parameter);
  }
}

/**
 * The parameters object the API takes from the form. A value left at the script's default is not sent (the service
 * applies the default, so a task follows the script), except for a download; an empty value is left to the service
 * (which names a missing required one).
 */
export function buildParameters(parameters: ParameterView[], state: FormState, options: BuildOptions = {}): Record<string, unknown> {
  const out: Record<string, unknown> = {};
  for (const p of parameters) {
    const s = state[p.name];
    if (!s) continue;
    switch (s.kind) {
      case "value": {
        const isDefault = p.default_value !== null && s.value === p.default_value;
        if (isDefault && !options.forDownload) break;
        if (s.value === "" && !(isDefault && options.forDownload)) break;
        out[p.name] = typed(p, s.value, options);
        break;
      }
      case "list":
        out[p.name] = { values: splitList(s.list).map((v) => typed(p, v, options)) };
        break;
      case "table": {
        const source: Record<string, unknown> = { from_table: s.table.trim(), column: s.column.trim() };
        if (s.filter.trim() !== "") {
          let filter: unknown;
          try {
            filter = JSON.parse(s.filter);
          } catch {
            throw new FilterSyntaxError(p.name);
          }
          if (typeof filter !== "object" || filter === null || Array.isArray(filter)) throw new FilterSyntaxError(p.name);
          source["filter"] = filter;
        }
        out[p.name] = source;
        break;
      }
      case "since_last":
        out[p.name] = { since_last: s.sinceColumn.trim(), overlap_days: s.overlapDays };
        break;
    }
  }
  return out;
}
