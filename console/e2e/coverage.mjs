// The coverage scenario of run.mjs: a table measured against the trading calendar, from the tables list to the
// table's Coverage tab. The fixture's ak_stock_zh_a_hist holds 000001's bars of 2024 only, so over its whole history
// 000001 is stale (its days since 2024 are missing), and within 2024 it is complete; 000004's bars of 2024 lack every
// 7th, 14th, 21st and 28th, so within 2024 it misses those of them that are trading days, each a range of its own.
import { check, env, expect, open, pick, signIn } from "./lib.mjs";

/** The summary in the tables list and on the table's page, the keys with missing days (stale marked), a wrong date's
 * 422 beside its field, a range within which the key is complete, and the table's Health tab. */
export async function coverage(browser) {
  const { context, page, errors, provoke } = await open(browser);
  provoke(422, "/coverage");
  await signIn(page, "admin", env.adminPassword);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Tables", exact: true }).click();
  const listed = page.locator(".el-table__row", { hasText: "ak_stock_zh_a_hist" });
  await listed.getByRole("link", { name: /^\s*Keys: [\d,]+ · with gaps: [\d,]+ · days missing: [\d,]+\s*$/ }).click();
  await page.waitForURL(/tab=coverage/);
  await page.getByTestId("coverage-line").filter({ hasText: /days missing/ }).waitFor();

  await page.getByTestId("coverage-summary").waitFor();
  const key = page.locator(".el-table__row", { hasText: "000001" });
  await key.waitFor();
  const missing = Number((await key.getByTestId("key-missing").textContent()).replace(/,/g, ""));
  expect(missing > 0, `000001, stored through 2024 only, misses ${missing} days`);
  await key.getByText("stale", { exact: true }).waitFor();
  expect(/\d{4}-\d{2}-\d{2}/.test(await key.textContent()), `no missing day named: ${await key.textContent()}`);
  const summaryMissing = Number((await page.getByTestId("coverage-missing").textContent()).replace(/,/g, ""));
  expect(summaryMissing >= missing, `the summary's ${summaryMissing} missing days are fewer than one key's ${missing}`);
  await check(page, "table-coverage");

  // A day that is not one: the API's 422 beside the field.
  const from = page.getByLabel("From", { exact: true });
  await from.fill("2024-13-01");
  await page.getByRole("button", { name: "Measure" }).click();
  await page.locator(".el-form-item", { has: from }).locator(".el-form-item__error").filter({ hasText: "YYYY-MM-DD" }).waitFor();

  // Within 2024 the key holds every trading day.
  await from.fill("2024-01-01");
  await page.getByLabel("To", { exact: true }).fill("2024-12-31");
  await pick(page, "Complete keys");
  await page.getByRole("button", { name: "Measure" }).click();
  await page.locator(".el-table__row", { hasText: "000001" }).getByTestId("key-missing").filter({ hasText: /^0$/ }).waitFor();

  // One key by its value (the key column's field), and every one of its missing days, opened by keyboard.
  await page.getByLabel("股票代码", { exact: true }).fill("000004");
  await pick(page, "Keys with gaps");
  await page.getByRole("button", { name: "Measure" }).click();
  await page.waitForFunction(() => {
    const rows = document.querySelectorAll(".el-table__row");
    return rows.length === 1 && rows[0].textContent.includes("000004");
  });
  const holey = page.locator(".el-table__row").first();
  const holes = Number(await holey.getByTestId("key-missing").textContent());
  expect(holes > 6, `000004 misses ${holes} days in 2024, not every 7th, 14th, 21st and 28th that trades`);
  await holey.getByText(/and \d+ more ranges/).waitFor();
  await holey.locator("summary").focus();
  await page.keyboard.press("Enter");
  const all = holey.getByRole("list", { name: "Every missing range" });
  await all.waitFor();
  const days = (await all.getByRole("listitem").allTextContents()).map((d) => d.trim());
  expect(days.length === holes, `${days.length} ranges listed for ${holes} missing days`);
  expect(days.every((d) => /^2024-\d\d-(07|14|21|28)$/.test(d)), `missing days that the fake served: ${days.join(", ")}`);
  await check(page, "table-coverage-key");

  // The key's rows a click away: the Data tab, its filter set to the key and shown.
  await holey.getByRole("link", { name: "股票代码=000004", exact: true }).click();
  await page.waitForURL(/tab=data/);
  const grid = page.getByTestId("data-table");
  await grid.locator("tbody tr", { hasText: "000004" }).first().waitFor();
  await page.locator('.grid-scroll[aria-busy="false"]').waitFor();
  const headers = (await grid.locator("thead th").allTextContents()).map((h) => h.trim().split(/\s/)[0]);
  const codeAt = headers.indexOf("股票代码");
  const codes = (await grid.locator(`tbody tr td:nth-child(${codeAt + 1})`).allTextContents()).map((t) => t.trim());
  expect(codeAt >= 0 && codes.length > 0 && codes.every((c) => c === "000004"), `the key's rows: ${codes.join(", ")}`);
  expect((await page.getByLabel("Value 1", { exact: true }).inputValue()) === "000004", "the key's filter is not shown");

  // The table's health: its findings' count in the card opens the Health tab, with the findings per rule and by key and day.
  await page.getByTestId("health-line").getByRole("link", { name: /^\s*Health findings: [\d,]+\s*$/ }).click();
  await page.waitForURL(/tab=health/);
  await page.getByTestId("health-summary").waitFor();
  await page.getByRole("list", { name: "Findings per rule" }).getByRole("listitem").first().waitFor();
  await page.getByRole("table").filter({ has: page.locator("tbody tr td") }).last().waitFor();
  await check(page, "table-health");
  await context.close();
  return errors;
}
