// node e2e/run.mjs <scenario>: one flow of the console in Chromium against the service at AKSHAREWEB_URL (the
// fixture tests/AkshareWeb.Console.Tests starts it with the fake AKTools and runs each scenario as a test).
// Prints "scenario <name>: passed" and exits 0, or prints what failed and exits 1.
// node e2e/run.mjs --serve: the same for each scenario name read from a line of stdin, one after another in one
// Chromium (starting node and Chromium costs more CPU than some scenarios), each ended by a line "@@end <name> 0|1";
// everything a scenario prints goes to stdout before that line. Ends when stdin closes.
import { readFileSync, statSync } from "node:fs";
import { join } from "node:path";
import { createInterface } from "node:readline";
import { coverage } from "./coverage.mjs";
import { notifications } from "./notifications.mjs";
import { adminApi, at, begin, check, checked, choose, look, openSelect, env, expect, launch, open, pick, settle, signIn, signOut, tabTo, underPrefix } from "./lib.mjs";

const scenarios = { auth, collect, tables, tasks, parts, admin, notifications, coverage, prefix, approval, closed };

/** Promise rejections nobody handled, in --serve mode (where they would not end the process): the scenario fails. */
const strays = [];

if (process.argv[2] === "--serve") {
  await serve();
} else {
  const name = process.argv[2];
  if (!scenarios[name]) {
    console.error(`usage: node e2e/run.mjs <${Object.keys(scenarios).join("|")}> | --serve`);
    process.exit(2);
  }
  const browser = await launch();
  let passed = false;
  try {
    passed = await run(browser, name);
  } finally {
    await browser.close();
  }
  process.exit(passed ? 0 : 1);
}

async function serve() {
  // A failure's story must come before its end line, on the stream that line is on.
  console.error = console.log;
  process.on("unhandledRejection", (reason) => strays.push(reason));
  let browser = null;
  for await (const line of createInterface({ input: process.stdin })) {
    const name = line.trim();
    if (!name) continue;
    if (!browser?.isConnected()) browser = await launch();
    const passed = await run(browser, name);
    console.log(`@@end ${name} ${passed ? 0 : 1}`);
  }
  await browser?.close();
}

/** One scenario in its own browser contexts; true when it passed. */
async function run(browser, name) {
  if (!scenarios[name]) {
    console.error(`no scenario ${name}: one of ${Object.keys(scenarios).join(", ")}`);
    return false;
  }
  begin();
  const started = Date.now();
  try {
    const errors = await scenarios[name](browser);
    if (errors.length > 0) throw new Error(`errors in the browser console:\n${errors.join("\n")}`);
    if (strays.length > 0) throw new Error(`unhandled promise rejections:\n${strays.splice(0).map((r) => r?.stack ?? r).join("\n")}`);
    console.log(`scenario ${name}: passed (${checked()} views checked in zh and en, ${((Date.now() - started) / 1000).toFixed(1)} s)`);
    return true;
  } catch (e) {
    console.error(`scenario ${name}: FAILED\n${e.stack ?? e}`);
    return false;
  } finally {
    // What a failed scenario left open (its pages still polling the service) does not run on into the next one.
    await Promise.all(browser.contexts().map((context) => context.close().catch(() => undefined)));
  }
}

// ---- scenarios ------------------------------------------------------------------------------------------------

/** Sign-in (Chinese by default, English with ?lang=en), registration, staying signed in across a reload through the
 * HttpOnly cookie only, what an ordinary user's navigation shows, sign-out. */
async function auth(browser) {
  const { context, page, errors, provoke } = await open(browser);
  provoke(401, "/api/auth/login");
  provoke(422, "/api/auth/register");
  provoke(422, "/api/auth/password");
  await page.goto(at("/"));
  await page.getByRole("button", { name: "登录" }).waitFor();
  expect((await page.locator("html").getAttribute("lang")) === "zh-CN", "the console is not Chinese by default");

  await page.goto(at("/?lang=en"));
  await page.getByLabel("Username", { exact: true }).waitFor();
  await page.getByLabel("Password", { exact: true }).waitFor();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await check(page, "signin");

  // A wrong password: the service's message, no stack.
  // By keyboard alone: Tab to the username, type, Tab to the password, type, Enter.
  for (let i = 0; i < 6 && (await page.evaluate(() => document.activeElement?.id)) !== "signin-username"; i++) await page.keyboard.press("Tab");
  expect((await page.evaluate(() => document.activeElement?.id)) === "signin-username", "Tab does not reach the username");
  await page.keyboard.type("admin");
  await page.keyboard.press("Tab");
  expect((await page.evaluate(() => document.activeElement?.id)) === "signin-password", "Tab does not go from the username to the password");
  await page.keyboard.type("not-the-password");
  await page.keyboard.press("Enter");
  await page.getByRole("alert").filter({ hasText: "invalid username or password" }).waitFor();

  await page.getByRole("link", { name: "Register" }).click();
  await page.getByRole("heading", { name: "Register" }).waitFor();
  await check(page, "register");
  const username = `quant${Date.now().toString(36)}`;
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("E-mail", { exact: true }).fill(`${username}@example.com`);
  await page.getByLabel("Password", { exact: true }).fill("short");
  await page.getByLabel("Confirm password", { exact: true }).fill("short");
  await page.getByRole("button", { name: "Register" }).click();
  // The 422 is shown beside the field it names.
  await page.locator(".el-form-item", { has: page.getByLabel("Password", { exact: true }) }).locator(".el-form-item__error").waitFor();
  await page.getByLabel("Password", { exact: true }).fill("s3cret-pass");
  await page.getByLabel("Confirm password", { exact: true }).fill("s3cret-pass");
  await page.getByRole("button", { name: "Register" }).click();
  await page.getByRole("link", { name: "Home" }).waitFor();

  const nav = page.getByRole("navigation", { name: "Main" });
  for (const link of ["Home", "Scripts", "Tasks", "Executions", "Tables"]) await nav.getByRole("link", { name: link, exact: true }).waitFor();
  expect((await nav.getByRole("link", { name: "Users" }).count()) === 0, "an ordinary user sees the Users link");
  expect((await nav.getByRole("link", { name: "Settings" }).count()) === 0, "an ordinary user sees the Settings link");

  // Nothing a script can read holds a token; the refresh token is an HttpOnly, strict cookie for the refresh route only.
  const stored = await page.evaluate(() => JSON.stringify({ ...localStorage, ...sessionStorage }) + document.cookie);
  expect(!/eyJ[\w-]+\./.test(stored) && !stored.includes("akshareweb_refresh"), `a token is readable by script: ${stored}`);
  const cookie = (await context.cookies()).find((c) => c.name === "akshareweb_refresh");
  expect(cookie, "no refresh cookie after registering");
  expect(cookie.httpOnly && cookie.sameSite === "Strict" && cookie.path === "/api/auth/refresh", `refresh cookie: ${JSON.stringify(cookie)}`);

  await page.reload();
  await page.getByRole("link", { name: "Tables" }).waitFor();
  await page.getByText(username, { exact: true }).waitFor();

  // The user's own password: a wrong current one is refused beside its field; the change keeps this session signed in.
  await page.getByRole("button", { name: "Change password" }).click();
  const dialog = page.getByRole("dialog", { name: "Change password" });
  // (A locator inside `has` is looked for within the outer one: it starts from the page, not from the dialog.)
  const current = page.getByLabel("Current password", { exact: true });
  await current.fill("not-my-password");
  await dialog.getByLabel("New password", { exact: true }).fill("n3w-secret-pass");
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.locator(".el-form-item", { has: current }).locator(".el-form-item__error").filter({ hasText: "current password is wrong" }).waitFor();
  await look(page, "change-password");
  await current.fill("s3cret-pass");
  await dialog.getByRole("button", { name: "Save" }).click();
  await page.getByText("Password changed; your other sessions have ended").waitFor();
  await dialog.waitFor({ state: "hidden" });
  await page.reload();
  await page.getByText(username, { exact: true }).waitFor();

  await signOut(page);
  await page.reload();
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  expect(!(await context.cookies()).some((c) => c.name === "akshareweb_refresh"), "the refresh cookie outlived sign-out");

  // The new password signs in; the old one is refused.
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill("s3cret-pass");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "invalid username or password" }).waitFor();
  await signIn(page, username, "n3w-secret-pass");
  await signOut(page);

  await signIn(page, "admin", env.adminPassword);
  await nav.getByRole("link", { name: "Users" }).waitFor();
  // The first Tab of a page offers the skip link; Enter on it moves focus to the content.
  await page.locator("body").focus();
  await page.keyboard.press("Tab");
  expect((await page.evaluate(() => document.activeElement?.className)) === "skip-link", "the first Tab is not the skip link");
  await page.keyboard.press("Enter");
  expect((await page.evaluate(() => document.activeElement?.id)) === "main", "the skip link does not reach the content");
  await nav.getByRole("link", { name: "Settings" }).waitFor();
  await signOut(page);
  await context.close();
  return errors;
}

/** The catalogue and a script: its parameter form, a test with sample rows, a 422 beside its field, and a download
 * watched from pending to completed without a reload. */
async function collect(browser) {
  const { context, page, errors, provoke } = await open(browser);
  provoke(422, "/api/scripts/stock_zh_a_hist/test");
  await signIn(page, "admin", env.adminPassword);

  await page.getByRole("link", { name: "Interfaces" }).click();
  await page.getByLabel("Keyword").fill("stock_zh_a");
  await page.getByRole("link", { name: "stock_zh_a_hist", exact: true }).waitFor();
  await check(page, "interfaces");
  await page.getByRole("link", { name: "stock_zh_a_hist", exact: true }).click();
  await page.getByLabel("symbol", { exact: true }).waitFor();
  await check(page, "interface");

  await page.getByRole("link", { name: "Scripts" }).click();
  await page.getByLabel("Search").fill("stock_zh_a_hist");
  await check(page, "scripts");
  await page.getByRole("link", { name: "stock_zh_a_hist", exact: true }).click();
  const symbol = page.getByLabel("symbol", { exact: true });
  await symbol.waitFor();
  // The form from the script's parameters: a required mark, a choice of allowed values, a relative date default.
  await page.locator(".el-form-item.is-required", { has: symbol }).waitFor();
  expect((await page.getByLabel("start_date", { exact: true }).inputValue()) === "today-30d", "start_date does not show its relative default");
  await openSelect(page, "period");
  for (const value of ["daily", "weekly", "monthly"]) await page.getByRole("option", { name: value, exact: true }).waitFor();
  await page.keyboard.press("Escape");

  await symbol.fill('000"1');
  await page.getByRole("button", { name: "Test", exact: true }).click();
  const symbolError = page.locator(".el-form-item", { has: symbol }).locator(".el-form-item__error");
  await symbolError.waitFor();
  expect((await symbolError.textContent()).length > 0, "the 422 is not shown beside symbol");

  await symbol.fill("000001");
  await page.getByLabel("start_date", { exact: true }).fill("20240102");
  await page.getByLabel("end_date", { exact: true }).fill("20240131");
  await page.getByRole("button", { name: "Test", exact: true }).click();
  const result = page.getByTestId("test-result");
  await result.getByText(/22 rows fetched/).waitFor();
  expect((await result.locator(".el-table__body tr").count()) === 10, "the sample shows other than 10 rows");
  await check(page, "script");

  // A download of the held symbol: the run is seen running, then completes while the page stays.
  await symbol.fill("600000");
  await page.getByRole("button", { name: "Download", exact: true }).click();
  await page.waitForURL(/\/executions\/exec_/);
  await page.locator('[data-status="running"]').first().waitFor({ timeout: 30_000 });
  await page.getByRole("status").filter({ hasText: "Updating live" }).waitFor();
  await page.evaluate(() => (window.__stillHere = true));
  await check(page, "execution-running");
  await fetch(`${env.akTools}/api/public/console_release`);
  await page.locator('[data-status="completed"]').first().waitFor({ timeout: 30_000 });
  expect(await page.evaluate(() => window.__stillHere === true), "the page reloaded to show the completed run");
  expect((await page.getByTestId("rows-fetched").textContent()).trim() === "22", "rows fetched is not the 22 bars of January 2024");
  await check(page, "execution");

  // A second script of the same interface writes into a table of its own: its page downloads that script (by id), into
  // that table, with the script's own default for what the form leaves out (adjust=qfq).
  await page.goto(at("/scripts/stock_zh_a_hist_qfq"));
  await page.getByLabel("symbol", { exact: true }).fill("000002");
  await page.getByLabel("start_date", { exact: true }).fill("20240102");
  await page.getByLabel("end_date", { exact: true }).fill("20240131");
  await page.getByRole("button", { name: "Download", exact: true }).click();
  await page.getByText("Download started, writing into ak_stock_zh_a_hist_qfq").waitFor();
  await page.waitForURL(/\/executions\/exec_/);
  await page.locator('[data-status="completed"]').first().waitFor({ timeout: 30_000 });
  await page.getByRole("link", { name: "ak_stock_zh_a_hist_qfq", exact: true }).waitFor();
  const run = (await (await adminApi())("GET", `/api/executions/${page.url().split("/").pop()}`)).body.data;
  expect(run.target_table === "ak_stock_zh_a_hist_qfq" && run.script_id === "stock_zh_a_hist_qfq", `the script's download ran as ${run.script_id} into ${run.target_table}`);
  expect(run.parameters.adjust === "qfq" && run.rows_affected === 22, `the script's download: ${JSON.stringify(run.parameters)}, ${run.rows_affected} rows`);
  await context.close();
  return errors;
}

/** A table: rows with a filter (the data page's operators), sort, cursor pages, the schema, the chart, exports. */
async function tables(browser) {
  const { context, page, errors } = await open(browser);
  await signIn(page, "admin", env.adminPassword);
  await page.getByRole("link", { name: "Tables" }).click();
  await page.getByRole("link", { name: "ak_stock_zh_a_hist" }).waitFor();
  await check(page, "tables");
  await page.getByRole("link", { name: "ak_stock_zh_a_hist" }).click();
  const grid = page.getByTestId("data-table");
  await grid.locator("tbody tr").first().waitFor();
  await check(page, "table-data");

  await page.getByRole("button", { name: "+ Add a condition" }).click();
  await choose(page, "Column 1", "日期");
  await choose(page, "Operator 1", "at least");
  await page.getByLabel("Value 1").fill("2024-12-02");
  await page.getByRole("button", { name: "Apply" }).click();
  await page.getByTestId("page-status").filter({ hasText: /^\d+ rows, page 1 of \d+$/ }).waitFor();
  await choose(page, "Sort by", "日期");
  await pick(page, "ascending");
  await settle(page);
  const firstDate = (await columnValues(grid, "日期"))[0] ?? "";
  expect(firstDate.startsWith("2024-12-02"), `the filtered, ascending first row is ${firstDate}`);
  await choose(page, "Rows per page", "20");
  await settle(page);
  await page.getByRole("button", { name: "Next page" }).click();
  await page.getByTestId("page-status").filter({ hasText: /page 2 of/ }).waitFor();
  // The status moves at the click; the rows once page 2 has come.
  await page.locator('.grid-scroll[aria-busy="false"]').waitFor();
  const secondPageFirst = (await columnValues(grid, "日期"))[0] ?? "";
  expect(secondPageFirst > firstDate, `page 2 starts at ${secondPageFirst}`);
  await page.getByRole("button", { name: "First page" }).click();
  await page.getByTestId("page-status").filter({ hasText: /page 1 of/ }).waitFor();

  // By keyboard: a column's header sorts (from ascending to the default, then descending, then ascending again), and
  // a paging button pages.
  await grid.locator("thead th", { hasText: "日期" }).getByRole("button").focus();
  for (const order of ["none", "descending", "ascending"]) {
    await page.keyboard.press("Enter");
    await grid.locator(`thead th[aria-sort="${order}"]`, { hasText: "日期" }).waitFor();
  }
  await page.locator('.grid-scroll[aria-busy="false"]').waitFor();
  await page.getByRole("button", { name: "Next page" }).focus();
  await page.keyboard.press("Enter");
  await page.getByTestId("page-status").filter({ hasText: /page 2 of/ }).waitFor();
  await page.locator('.grid-scroll[aria-busy="false"]').waitFor();
  await page.getByRole("button", { name: "First page" }).focus();
  await page.keyboard.press("Enter");
  await page.getByTestId("page-status").filter({ hasText: /page 1 of/ }).waitFor();

  const csv = await download(page, "Export CSV");
  const text = readFileSync(csv, "utf8");
  expect(text.charCodeAt(0) === 0xfeff, "the CSV has no BOM");
  const lines = text.trim().split(/\r?\n/);
  expect(lines[0].includes("日期") && lines.length > 1, `CSV: ${lines[0]}`);
  const dateAt = lines[0].split(",").indexOf("日期");
  expect(lines.slice(1).every((l) => l.split(",")[dateAt] >= "2024-12-02"), "the CSV export is not the filtered rows");
  const xlsx = await download(page, "Export Excel");
  expect(readFileSync(xlsx).subarray(0, 2).toString() === "PK", "the Excel export is not an xlsx");

  await page.getByRole("tab", { name: "Schema" }).click();
  await page.getByRole("cell", { name: "收盘", exact: true }).first().waitFor();
  await check(page, "table-schema");

  await page.getByRole("tab", { name: "Chart" }).click();
  await page.getByTestId("chart").locator("canvas").first().waitFor();
  await page.getByTestId("chart-points").filter({ hasText: /^[1-9]\d* points$/ }).waitFor();
  await check(page, "table-chart");
  await pick(page, "Line");
  await page.getByRole("combobox", { name: "Numeric column" }).waitFor();
  await context.close();
  return errors;
}

/** The texts of one column of an Element Plus table, found by its header. */
async function columnValues(grid, header) {
  const headers = await grid.locator("thead th").allTextContents();
  const index = headers.findIndex((h) => h.trim().split(/\s/)[0] === header);
  if (index < 0) throw new Error(`no column ${header} in ${headers.join(", ")}`);
  return (await grid.locator(`tbody tr td:nth-child(${index + 1})`).allTextContents()).map((t) => t.trim());
}

async function download(page, button) {
  const [file] = await Promise.all([page.waitForEvent("download"), page.getByRole("button", { name: button }).click()]);
  const path = join(env.results, file.suggestedFilename());
  await file.saveAs(path);
  return path;
}

/** A task: its next five fire times in Beijing time before saving, the schedule's problem shown, then run, pause,
 * resume and delete from the list. */
async function tasks(browser) {
  const { context, page, errors, provoke } = await open(browser);
  provoke(422, "/api/tasks/preview-schedule");
  await signIn(page, "admin", env.adminPassword);
  // By keyboard: Tab through the navigation to Tasks, Enter; Tab to New task, Enter.
  await page.locator("body").focus();
  await tabTo(page, "Tasks");
  await page.keyboard.press("Enter");
  await page.getByRole("link", { name: "平安银行日线" }).waitFor();
  await check(page, "tasks");

  await tabTo(page, "New task");
  await page.keyboard.press("Enter");
  await choose(page, "Data script", "stock_zh_a_hist · A股历史行情");
  await page.getByLabel("symbol", { exact: true }).fill("000002");
  const name = `万科A 日线 ${Date.now().toString(36)}`;
  await page.getByLabel("Name", { exact: true }).fill(name);
  const expression = page.getByLabel("Schedule expression");
  await expression.fill("0 16 * *");
  await page.getByRole("alert").filter({ hasText: "5 fields" }).first().waitFor();
  await expression.fill("0 16 * * 1-5");
  const times = page.getByTestId("fire-time");
  await page.waitForFunction(() => document.querySelectorAll('[data-testid="fire-time"]').length === 5);
  for (const text of await times.allTextContents()) {
    expect(/ 16:00:00\s*(Mon|Tue|Wed|Thu|Fri)$/.test(text.trim()), `a fire time that is not 16:00 Beijing on a weekday: ${text}`);
  }
  await check(page, "task-editor");
  await page.getByRole("button", { name: "Save" }).click();
  await page.waitForURL(/\/tasks\/\d+$/);
  await page.getByRole("heading", { name: "Edit task" }).waitFor();

  await page.getByRole("link", { name: "Tasks" }).click();
  const row = page.locator(".el-table__row", { hasText: name });
  await row.waitFor();
  // Space on a focused button works as a click does.
  await row.getByRole("button", { name: "Pause" }).focus();
  await page.keyboard.press("Space");
  await row.getByRole("button", { name: "Resume" }).waitFor();
  await row.getByText("paused").waitFor();
  await row.getByRole("button", { name: "Resume" }).click();
  await row.getByRole("button", { name: "Pause" }).waitFor();
  await row.getByRole("button", { name: "Run now" }).click();
  await page.waitForURL(/\/executions\/exec_/);
  await page.locator('[data-status="completed"], [data-status="running"], [data-status="pending"]').first().waitFor();
  await page.getByRole("link", { name: "Tasks" }).click();
  await row.getByRole("button", { name: `Delete ${name}` }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).waitFor();
  await look(page, "confirm-delete", { bothLanguages: false });
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await row.waitFor({ state: "detached" });
  await context.close();
  return errors;
}

/** A run over a list of symbols: its parts with a status filter, the failed one retried until the run completes, and
 * a running download cancelled. */
async function parts(browser) {
  const { context, page, errors } = await open(browser);
  await signIn(page, "admin", env.adminPassword);
  await page.goto(at("/scripts/stock_zh_a_hist?lang=en"));
  await pick(page.locator(".el-form-item", { has: page.getByLabel("symbol", { exact: true }) }), "List of values");
  await page.getByLabel("symbol: List of values").fill("000002\n300750");
  await page.getByLabel("start_date", { exact: true }).fill("20240102");
  await page.getByLabel("end_date", { exact: true }).fill("20240131");
  await page.getByRole("button", { name: "Download", exact: true }).click();
  await page.waitForURL(/\/executions\/exec_/);
  await page.locator('[data-status="failed"]').first().waitFor({ timeout: 60_000 });
  await page.getByTestId("parts-summary").filter({ hasText: "2 parts: 1 done, 1 failed" }).waitFor();
  await pick(page.getByRole("region", { name: "Parts" }), "failed");
  const partRows = page.locator("section[aria-label='Parts'] .el-table__row");
  await page.waitForFunction(() => document.querySelectorAll("section[aria-label='Parts'] .el-table__row").length === 1);
  expect((await partRows.first().textContent()).includes("300750"), "the failed part is not 300750's");
  await check(page, "execution-parts");
  await page.getByRole("button", { name: "Retry failed parts" }).click();
  await page.waitForFunction(() => !document.querySelector('[data-status="failed"]'));
  await page.locator('[data-status="completed"]').first().waitFor({ timeout: 60_000 });

  // Cancel a run while it waits for AKTools.
  await page.goto(at("/scripts/stock_zh_a_hist?lang=en"));
  await page.getByLabel("symbol", { exact: true }).fill("600000");
  await page.getByRole("button", { name: "Download", exact: true }).click();
  await page.waitForURL(/\/executions\/exec_/);
  await page.locator('[data-status="running"]').first().waitFor({ timeout: 30_000 });
  await page.getByRole("button", { name: "Cancel run" }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Cancel run" }).waitFor();
  await look(page, "confirm-cancel", { bothLanguages: false });
  await page.getByRole("dialog").getByRole("button", { name: "Cancel run" }).click();
  await page.locator('[data-status="cancelled"]').first().waitFor({ timeout: 30_000 });
  await fetch(`${env.akTools}/api/public/console_release`);

  await page.getByRole("link", { name: "Executions" }).click();
  await choose(page, "Status", "failed");
  // The list shown before the filter answers is the unfiltered one: wait for the filtered answer (or the time-out,
  // and the check below says what was shown).
  await page
    .waitForFunction(() => {
      const tags = [...document.querySelectorAll(".el-table__row [data-status]")];
      return tags.length > 0 && tags.every((t) => t.getAttribute("data-status") === "failed");
    }, null, { timeout: 15_000 })
    .catch(() => {});
  const statuses = await page.locator(".el-table__row [data-status]").evaluateAll((tags) => tags.map((t) => t.getAttribute("data-status")));
  expect(statuses.length > 0 && statuses.every((s) => s === "failed"), `the status filter shows ${statuses}`);
  await check(page, "executions");
  await context.close();
  return errors;
}

/** Home (failures first with their reasons, a run in progress until it ends, the next fires, tables by freshness) and
 * the admin pages: users (a password reset), settings with the warehouse connection test, and the links to Swagger UI,
 * the Hangfire dashboard and metrics. */
async function admin(browser) {
  const api = await adminApi();
  const user = `pending${Date.now().toString(36)}`;
  await api("POST", "/api/auth/register", { username: user, email: `${user}@example.com`, password: "s3cret-pass", password_confirm: "s3cret-pass" });
  // A download that waits for AKTools until released: Home shows it running.
  const held = await api("POST", "/api/data/download", {
    script_id: "stock_zh_a_hist",
    parameters: { symbol: "600000", start_date: "20240102", end_date: "20240131" },
  });
  expect(held.status === 200, `the held download did not start: ${JSON.stringify(held.body)}`);

  const { context, page, errors, provoke } = await open(browser);
  provoke(422, "/reset-password");
  await signIn(page, "admin", env.adminPassword);
  const failures = page.getByRole("region", { name: "Failures (look at these first)" });
  await failures.locator(".reason").first().waitFor();
  expect((await failures.locator(".reason").first().textContent()).length > 0, "a failure shows no reason");
  await page.getByRole("region", { name: "Next scheduled fires" }).getByRole("link", { name: "平安银行日线" }).waitFor();
  await page.getByRole("region", { name: "Tables by freshness (stalest first)" }).getByRole("link", { name: "ak_stock_zh_a_hist" }).waitFor();
  const running = page.getByRole("region", { name: "Running now" });
  await running.getByRole("link", { name: "stock_zh_a_hist", exact: true }).waitFor();
  await running.getByRole("progressbar").first().waitFor();
  await check(page, "home");
  // The run ends; Home, left open, sees it go without a reload.
  await page.evaluate(() => (window.__stillHere = true));
  await fetch(`${env.akTools}/api/public/console_release`);
  await running.getByText("Nothing is running").waitFor({ timeout: 30_000 });
  expect(await page.evaluate(() => window.__stillHere === true), "Home reloaded to show the run's end");
  const ended = (await api("GET", `/api/executions/${held.body.data.execution_id}`)).body.data;
  expect(ended.status === "completed", `the held run ended ${ended.status}`);

  await page.getByRole("link", { name: "Users" }).click();
  const row = page.locator(".el-table__row", { hasText: user });
  await row.waitFor();
  await row.getByRole("button", { name: "Deactivate" }).click();
  await row.getByRole("button", { name: "Activate" }).waitFor();
  await check(page, "users");
  await row.getByRole("button", { name: "Activate" }).click();
  await row.getByRole("button", { name: "Deactivate" }).waitFor();

  // An admin sets the account a new password (a short one refused beside the field); the account signs in with it.
  await row.getByRole("button", { name: "Reset password" }).click();
  const reset = page.getByRole("dialog", { name: `Reset password: ${user}` });
  const password = page.getByLabel("New password", { exact: true });
  await password.fill("short");
  await reset.getByRole("button", { name: "Save" }).click();
  await page.locator(".el-form-item", { has: password }).locator(".el-form-item__error").waitFor();
  await look(page, "user-reset-password");
  await password.fill("r3set-by-admin");
  await reset.getByRole("button", { name: "Save" }).click();
  await page.locator(".el-message", { hasText: "Password reset" }).waitFor();
  await reset.waitFor({ state: "hidden" });
  const login = await fetch(at("/api/auth/login"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: user, password: "r3set-by-admin" }),
  });
  expect(login.status === 200, `the account does not sign in with the password an admin set: ${login.status}`);

  // The scheduler's statistics (Hangfire's, the slowest answer under load) held back: the other cards show with their
  // own answers meanwhile, and when it fails its card says so and the others stay.
  let releaseScheduler;
  const schedulerHeld = new Promise((resolve) => (releaseScheduler = resolve));
  const schedulerRoute = async (route) => {
    await schedulerHeld;
    await route.fulfill({ status: 500, contentType: "application/json", body: JSON.stringify({ code: 5002, message: "the scheduler's storage did not answer", detail: null }) });
  };
  await page.route("**/api/settings/scheduler", schedulerRoute);
  provoke(500, "/api/settings/scheduler");
  await page.getByRole("link", { name: "Settings" }).click();
  const concurrent = page.getByLabel("Max concurrent tasks", { exact: true });
  await concurrent.waitFor();
  const schedulerCard = page.getByRole("region", { name: "Scheduler" });
  await schedulerCard.getByText("Loading…").waitFor();
  await concurrent.fill("6");
  // The ordinary users' limits: runs of their tasks at once, their share of the slots, parts waiting, a parted run's time.
  await page.getByLabel("Task runs pending or running at once", { exact: true }).fill("3");
  await page.getByLabel("Share of slots for manual runs (%)", { exact: true }).fill("40");
  await page.getByLabel("Parts of parted runs waiting at most", { exact: true }).fill("15000");
  await page.getByLabel("Parted run time limit (min, 0: none)", { exact: true }).fill("240");
  await page.getByRole("region", { name: "Execution settings" }).getByRole("button", { name: "Save" }).click();
  await page.getByText("Saved").first().waitFor();
  const saved = (await api("GET", "/api/settings")).body.data;
  expect(saved.max_concurrent_tasks === 6, "the settings were not saved");
  expect(
    saved.user_max_task_runs === 3 && saved.user_max_slots_percent === 40 && saved.user_max_parts_waiting === 15000 && saved.default_max_run_minutes === 240,
    `the users' limits were not saved: ${JSON.stringify(saved)}`,
  );
  releaseScheduler();
  await schedulerCard.getByRole("alert").filter({ hasText: "Could not be read: the scheduler's storage did not answer" }).waitFor();
  expect(await concurrent.isVisible(), "the scheduler's failure hid the execution settings");
  await page.unroute("**/api/settings/scheduler", schedulerRoute);
  // Opened again, the scheduler's card shows its statistics (by the keyboard: the "Saved" message lies over the links).
  await page.getByRole("link", { name: "Users" }).press("Enter");
  await page.getByRole("heading", { name: "Users", exact: true }).waitFor();
  await page.getByRole("link", { name: "Settings" }).press("Enter");
  await schedulerCard.getByText("Next fire").waitFor();
  await page.getByRole("button", { name: "Test the connection" }).click();
  // The connection shown, tested without typing its password (the console never learns it): the stored one is used.
  await page.getByTestId("connection-result").filter({ hasText: /^\s*Connected: / }).waitFor();
  await check(page, "settings");
  expect((await page.getByRole("link", { name: "Swagger UI (API documentation)" }).getAttribute("href")).endsWith("/swagger"), "no Swagger link");
  expect((await page.getByRole("link", { name: "Prometheus metrics (/metrics)" }).getAttribute("href")).endsWith("/metrics"), "no metrics link");
  const [dashboard] = await Promise.all([context.waitForEvent("page"), page.getByRole("link", { name: "Hangfire dashboard" }).click()]);
  await dashboard.waitForURL(/\/hangfire/);
  await dashboard.waitForLoadState();
  await dashboard.getByText(/Hangfire \d/).first().waitFor();
  await dashboard.close();
  await signOut(page);
  await context.close();
  // The dashboard's own page is not the console's: its console errors (if any) are Hangfire's.
  return errors.filter((e) => !e.includes("/hangfire"));
}

/** Behind a proxy's prefix: assets, routes, deep links and the session all under it; the size of what loads before
 * the first view; the caching and CSP headers. */
async function prefix(browser) {
  expect(env.pathBase !== "", "AKSHAREWEB_PATH_BASE is not set");
  underPrefix();
  const { context, page, errors } = await open(browser);
  const scripts = [];
  page.on("response", (r) => {
    if (r.request().resourceType() === "script") scripts.push(r);
  });
  const first = await page.goto(at("/?lang=en"));
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  const headers = first.headers();
  expect(headers["cache-control"].includes("no-cache"), `index.html is cached: ${headers["cache-control"]}`);
  const csp = headers["content-security-policy"] ?? "";
  const scriptSrc = csp.split(";").find((d) => d.trim().startsWith("script-src")) ?? "";
  expect(scriptSrc.includes("'self'") && !scriptSrc.includes("unsafe-inline") && !scriptSrc.includes("unsafe-eval"), `CSP: ${csp}`);
  expect((await page.locator("base").getAttribute("href")) === `${env.pathBase}/`, "the page's base is not the prefix");

  // What loads before the first view, as the build wrote it gzipped: at most 300 KB.
  const dist = join(process.cwd(), "dist", "assets");
  let gzipped = 0;
  for (const r of scripts) {
    const url = new URL(r.url());
    expect(url.pathname.startsWith(`${env.pathBase}/assets/`), `a script outside the prefix: ${url.pathname}`);
    expect((r.headers()["cache-control"] ?? "").includes("immutable"), `${url.pathname} is not cached long`);
    gzipped += statSync(join(dist, `${url.pathname.split("/").pop()}.gz`)).size;
  }
  console.log(`first view: ${scripts.length} scripts, ${(gzipped / 1024).toFixed(1)} KB gzipped`);
  expect(gzipped <= 300 * 1024, `${(gzipped / 1024).toFixed(1)} KB of gzipped JavaScript before the first view`);

  await signIn(page, "admin", env.adminPassword, "/?lang=en");
  const cookie = (await context.cookies()).find((c) => c.name === "akshareweb_refresh");
  expect(cookie?.path === `${env.pathBase}/api/auth/refresh`, `refresh cookie under the prefix: ${JSON.stringify(cookie)}`);
  await page.goto(at("/tables/ak_stock_zh_a_hist?tab=schema"));
  await page.getByRole("cell", { name: "收盘", exact: true }).first().waitFor();
  await page.reload();
  await page.getByRole("tab", { name: "结构" }).waitFor();
  await page.getByRole("link", { name: "执行记录" }).click();
  await page.waitForURL(/\/executions$/);
  expect(new URL(page.url()).pathname === `${env.pathBase}/executions`, `navigation left the prefix: ${page.url()}`);
  await page.goto(at("/no/such/page?lang=en"));
  await page.getByRole("heading", { name: "No such page" }).waitFor();
  await check(page, "not-found");
  await context.close();
  return errors;
}

/** Auth:Registration=approval: the form says an administrator approves; the new account is refused at sign-in with the
 * service's words until an admin approves it in Users; then it signs in. */
async function approval(browser) {
  const { context, page, errors, provoke } = await open(browser);
  provoke(401, "/api/auth/login");
  await page.goto(at("/register?lang=en"));
  await page.getByRole("alert").filter({ hasText: "An administrator must approve" }).waitFor();
  await check(page, "register-approval");
  const username = `waiting${Date.now().toString(36)}`;
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("E-mail", { exact: true }).fill(`${username}@example.com`);
  await page.getByLabel("Password", { exact: true }).fill("s3cret-pass");
  await page.getByLabel("Confirm password", { exact: true }).fill("s3cret-pass");
  await page.getByRole("button", { name: "Register" }).click();
  await page.getByRole("status").filter({ hasText: "once an administrator activates it" }).waitFor();
  expect(!(await context.cookies()).some((c) => c.name === "akshareweb_refresh"), "an account awaiting approval got a session");

  await page.getByRole("link", { name: "Sign in" }).click();
  await page.getByLabel("Username", { exact: true }).fill(username);
  await page.getByLabel("Password", { exact: true }).fill("s3cret-pass");
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("alert").filter({ hasText: "awaiting approval" }).waitFor();

  await signIn(page, "admin", env.adminPassword);
  await page.getByRole("link", { name: "Users" }).click();
  const row = page.locator(".el-table__row", { hasText: username });
  await row.getByText("awaiting approval").waitFor();
  await check(page, "users-approval");
  await row.getByRole("button", { name: "Approve" }).click();
  await row.getByRole("button", { name: "Deactivate" }).waitFor();
  await signOut(page);

  await signIn(page, username, "s3cret-pass");
  await page.getByText(username, { exact: true }).waitFor();
  await signOut(page);
  await context.close();
  return errors;
}

/** Auth:Registration=closed: sign-in offers no registration and says why; the registration page has no form. */
async function closed(browser) {
  const { context, page, errors } = await open(browser);
  await page.goto(at("/?lang=en"));
  await page.getByRole("button", { name: "Sign in" }).waitFor();
  await page.getByText("does not take registrations").waitFor();
  expect((await page.getByRole("link", { name: "Register" }).count()) === 0, "closed registration still offers a Register link");
  await page.goto(at("/register?lang=en"));
  await page.getByRole("alert").filter({ hasText: "does not take registrations" }).waitFor();
  expect((await page.getByRole("button", { name: "Register" }).count()) === 0, "closed registration still shows the form");
  await check(page, "register-closed");
  await context.close();
  return errors;
}
