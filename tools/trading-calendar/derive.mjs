// Derives the trading calendar AkshareWeb bundles (src/AkshareWeb.Features/Calendar/TradingDays.txt): every day
// the Shanghai and Shenzhen stock exchanges traded or will trade, from 1990-12-19 (the first trading day) to the
// end of the last year chinese-days knows.
//
// What it is derived from, and why it is not Sina's own list: the service's calendar is what AKShare's
// tool_trade_date_hist_sina() answers (Sina's list), but no build machine reaches Sina. The exchanges trade on
// weekdays that are not public holidays, and never on a weekend, not even on a weekend the State Council made a
// working day (调休上班). So:
//   - weekdays from 1990-12-19 to the end of chinese-days' last year,
//   - less chinese-days' holidays (npm package chinese-days, pinned in package.json: the State Council's
//     arrangements from 2004),
//   - less sse-closures.txt: every closure before 2004 and the few days the exchanges closed beyond the State
//     Council's arrangement (facts from the exchanges' notices, checked against other published lists).
// The result is said to be derived in its header, and the service names that source until a run of the
// tool_trade_date_hist_sina data script replaces it with Sina's answer.
//
//   npm ci && node derive.mjs           writes the snapshot
//   npm ci && node derive.mjs --check   fails when the committed snapshot differs from a fresh derivation
import { readFileSync, writeFileSync } from "node:fs";
import { createRequire } from "node:module";
import { fileURLToPath } from "node:url";
import path from "node:path";

const here = path.dirname(fileURLToPath(import.meta.url));
const output = path.join(here, "..", "..", "src", "AkshareWeb.Features", "Calendar", "TradingDays.txt");
const require = createRequire(import.meta.url);
const holidaysPackage = require("chinese-days/package.json");
const dataset = require("chinese-days/dist/chinese-days.json");

const FIRST_TRADING_DAY = "1990-12-19";

/** "YYYY-MM-DD" of a UTC date. */
const iso = (date) => date.toISOString().slice(0, 10);

function closures() {
  const days = new Set();
  for (const raw of readFileSync(path.join(here, "sse-closures.txt"), "utf8").split("\n")) {
    const line = raw.replace(/#.*/, "").trim();
    if (line === "") continue;
    const match = /^(\d{4}):((?:\s+\d{2}-\d{2})+)$/.exec(line);
    if (!match) throw new Error(`sse-closures.txt: cannot read "${raw}"`);
    for (const day of match[2].trim().split(/\s+/)) {
      const date = `${match[1]}-${day}`;
      if (Number.isNaN(Date.parse(date)) || iso(new Date(date)) !== date) throw new Error(`sse-closures.txt: ${date} is no date`);
      days.add(date);
    }
  }
  return days;
}

const holidays = new Set(Object.keys(dataset.holidays));
const holidayYears = [...holidays].map((d) => Number(d.slice(0, 4)));
const firstYear = Math.min(...holidayYears);
const lastYear = Math.max(...holidayYears);
const closed = closures();
const last = `${lastYear}-12-31`;

const days = [];
for (let date = new Date(`${FIRST_TRADING_DAY}T00:00:00Z`); iso(date) <= last; date.setUTCDate(date.getUTCDate() + 1)) {
  const day = iso(date);
  const weekday = date.getUTCDay();
  if (weekday === 0 || weekday === 6) continue;
  if (holidays.has(day) || closed.has(day)) continue;
  days.push(day);
}

// A closure listed for a year chinese-days covers must not be one it already has: that would hide a mistake.
for (const day of closed) {
  if (holidays.has(day)) throw new Error(`sse-closures.txt lists ${day}, which chinese-days already has as a holiday`);
}

const source = `derived: chinese-days ${holidaysPackage.version} (holidays ${firstYear}-${lastYear}) + tools/trading-calendar/sse-closures.txt (closures 1990-${firstYear - 1} and later extra closures)`;
const text = [
  "# The SSE/SZSE trading calendar bundled with AkshareWeb, DERIVED (not Sina's own list): weekdays less public",
  "# holidays and exchange closures. Written by tools/trading-calendar/derive.mjs; do not edit by hand.",
  `# source: ${source}`,
  `# first: ${days[0]}`,
  `# last: ${days[days.length - 1]}`,
  `# days: ${days.length}`,
  ...days,
  "",
].join("\n");

if (process.argv.includes("--check")) {
  const committed = readFileSync(output, "utf8");
  if (committed !== text) {
    console.error(`${path.relative(process.cwd(), output)} is not what derive.mjs derives now: run "node derive.mjs" in tools/trading-calendar`);
    process.exit(1);
  }
  console.log(`trading calendar snapshot up to date: ${days.length} days, ${days[0]} to ${days[days.length - 1]}`);
} else {
  writeFileSync(output, text);
  console.log(`wrote ${days.length} trading days, ${days[0]} to ${days[days.length - 1]}, to ${path.relative(process.cwd(), output)}`);
}
