import { catalogueOf, fill, type Locale } from "@/i18n";

/** The market's zone: the service reads schedules and "today" in Beijing time, and the console shows times the same way. */
export const MARKET_ZONE = "Asia/Shanghai";

const dateTime = new Intl.DateTimeFormat("sv-SE", {
  timeZone: MARKET_ZONE,
  year: "numeric",
  month: "2-digit",
  day: "2-digit",
  hour: "2-digit",
  minute: "2-digit",
  second: "2-digit",
  hour12: false,
});

/** 2030-01-04 16:00:00, in Beijing time, whatever the browser's zone. */
export function beijing(value: string | null | undefined): string {
  if (!value) return "—";
  const date = new Date(value);
  return Number.isNaN(date.getTime()) ? value : dateTime.format(date);
}

/** The weekday in Beijing of an instant, as 周五 / Fri. */
export function beijingWeekday(value: string, locale: Locale): string {
  const day = new Date(new Date(value).getTime() + 8 * 3600_000).getUTCDay();
  return catalogueOf(locale).time.weekdays.split(" ")[day] ?? "";
}

/** Today's date in Beijing, for relative dates (today-30d) resolved in the browser. */
export function beijingToday(now: Date = new Date()): { year: number; month: number; day: number } {
  const [year, month, day] = dateTime.format(now).slice(0, 10).split("-").map(Number) as [number, number, number];
  return { year, month, day };
}

/** How long ago an instant was, in its largest whole unit: 3 天 / 3 d. */
export function ago(value: string | null | undefined, locale: Locale, now: number = Date.now()): string {
  if (!value) return "—";
  const seconds = Math.max(0, Math.round((now - new Date(value).getTime()) / 1000));
  const time = catalogueOf(locale).time;
  const units: Array<[number, string]> = [
    [86_400, time.days],
    [3_600, time.hours],
    [60, time.minutes],
  ];
  for (const [size, words] of units) {
    if (seconds >= size) return fill(words, { n: Math.floor(seconds / size) });
  }
  return fill(time.seconds, { n: seconds });
}

export function bytes(size: number): string {
  if (size < 1024) return `${size} B`;
  const units = ["KB", "MB", "GB", "TB"];
  let value = size / 1024;
  let unit = 0;
  while (value >= 1024 && unit < units.length - 1) {
    value /= 1024;
    unit++;
  }
  return `${value.toFixed(value < 10 ? 1 : 0)} ${units[unit]}`;
}

export function count(n: number | null | undefined): string {
  return n === null || n === undefined ? "—" : n.toLocaleString("en-US");
}

export function seconds(value: number | null | undefined): string {
  if (value === null || value === undefined) return "—";
  if (value < 60) return `${value.toFixed(value < 10 ? 2 : 1)} s`;
  const m = Math.floor(value / 60);
  return `${m} min ${Math.round(value - m * 60)} s`;
}

// A DATE column comes back as a midnight date-time (2024-01-02T00:00:00): the day is what the table holds.
const MIDNIGHT = /^(\d{4}-\d{2}-\d{2})T00:00:00(?:\.0+)?Z?$/;

/**
 * A cell of a data page or a sample: objects as JSON, null as an empty mark, a date without its midnight, and a
 * double to 15 significant digits (what a double holds exactly), so 0.1 + 0.2 reads 0.3 and not 0.30000000000000004.
 */
export function cell(value: unknown): string {
  if (value === null || value === undefined) return "";
  if (typeof value === "number") return Number.isFinite(value) && !Number.isInteger(value) ? String(Number(value.toPrecision(15))) : String(value);
  if (typeof value === "string") return MIDNIGHT.exec(value)?.[1] ?? value;
  if (typeof value === "object") return JSON.stringify(value);
  return String(value);
}
