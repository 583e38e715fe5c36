// The notifications scenario of run.mjs: channels and their deliveries, as an admin and as an ordinary user. The
// fixture's receiver (RECEIVER_URL) takes every message, except on /down where it answers as a robot that is down.
import { adminApi, at, check, choose, env, expect, look, open, signIn, signOut } from "./lib.mjs";

/** A channel created with its 422 shown beside the URL, a secret set (shown as set, never as itself), a test that
 * arrives and one that does not with its error, the deliveries with their status filter and last error, a delete;
 * an ordinary user is offered no scope and sees only their own channels. */
export async function notifications(browser) {
  const receiver = process.env.RECEIVER_URL;
  expect(receiver, "RECEIVER_URL is not set");
  const { context, page, errors, provoke } = await open(browser);
  provoke(422, "/api/notifications/channels");
  await signIn(page, "admin", env.adminPassword);
  await page.getByRole("navigation", { name: "Main" }).getByRole("link", { name: "Notifications", exact: true }).click();
  await page.getByRole("heading", { name: "Notification channels" }).waitFor();

  const stamp = Date.now().toString(36);
  const ops = `ops ${stamp}`;
  await page.getByRole("button", { name: "New channel" }).click();
  const dialog = page.getByRole("dialog", { name: "New channel" });
  await dialog.getByLabel("Name", { exact: true }).fill(ops);
  const url = dialog.getByLabel("URL", { exact: true });
  await url.fill("ftp://example.com/hook");
  await dialog.getByText("task_failing (a task keeps failing)").click();
  await dialog.getByText("all (everything, admins only)").click();
  await dialog.getByRole("button", { name: "Save" }).click();
  // The API's 422 beside the field it names, the dialog still open with what was typed.
  await page.locator(".el-form-item", { has: page.getByLabel("URL", { exact: true }) }).locator(".el-form-item__error").filter({ hasText: "http or https" }).waitFor();
  await look(page, "notification-channel-form");
  await url.fill(`${receiver}/hook`);
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "hidden" });
  const row = page.locator(".el-table__row", { hasText: ops });
  await row.waitFor();
  expect((await row.getByTestId(/^secret-/).textContent()).trim() === "not set", "a new channel without a secret does not say 'not set'");
  expect((await row.textContent()).includes("task_failing") && (await row.textContent()).includes("all"), `the row: ${await row.textContent()}`);

  // A signing secret: written, then shown only as set.
  await row.getByRole("button", { name: `Edit ${ops}` }).click();
  const edit = page.getByRole("dialog", { name: "Edit channel" });
  expect(await edit.getByLabel("Type", { exact: true }).isDisabled(), "a channel's type can be changed");
  expect((await edit.getByTestId("secret-state").textContent()).trim() === "not set", "the edit form does not say the secret is not set");
  await edit.getByLabel("Signing secret", { exact: true }).fill("s3cret-for-signing");
  await edit.getByRole("button", { name: "Save" }).click();
  await edit.waitFor({ state: "hidden" });
  await row.getByTestId(/^secret-/).filter({ hasText: /^\s*set\s*$/ }).waitFor();
  expect(!(await page.content()).includes("s3cret-for-signing"), "the secret is shown back");

  await row.getByRole("button", { name: `Send a test ${ops}` }).click();
  await row.getByTestId("test-result").filter({ hasText: "The test message arrived" }).waitFor();

  // A robot that is down: the test says so, with the service's error.
  const down = `down ${stamp}`;
  await page.getByRole("button", { name: "New channel" }).click();
  await dialog.getByLabel("Name", { exact: true }).fill(down);
  await choose(page, "Type", "wecom (WeCom robot)");
  await dialog.getByText("These robots take no signing secret").waitFor();
  await dialog.getByLabel("URL", { exact: true }).fill(`${receiver}/down`);
  await dialog.getByRole("button", { name: "Save" }).click();
  await dialog.waitFor({ state: "hidden" });
  const downRow = page.locator(".el-table__row", { hasText: down });
  await downRow.getByRole("button", { name: `Send a test ${down}` }).click();
  await downRow.getByTestId("test-result").filter({ hasText: "did not arrive" }).waitFor();
  await check(page, "notifications");

  await page.getByRole("link", { name: "Deliveries" }).first().click();
  await page.getByRole("heading", { name: "Deliveries" }).waitFor();
  const deliveries = page.getByRole("table");
  await page.locator(".el-table__row", { hasText: ops }).locator('[data-status="sent"]').waitFor();
  const failed = page.locator(".el-table__row", { hasText: down });
  await failed.locator('[data-status="failed"]').waitFor();
  expect((await failed.locator(".last-error").textContent()).includes("500"), `the failed delivery's last error: ${await failed.textContent()}`);
  await choose(page, "Status", "failed");
  await page.waitForURL(/status=failed/);
  await page.waitForFunction(() => [...document.querySelectorAll(".el-table__row [data-status]")].every((t) => t.getAttribute("data-status") === "failed"));
  expect((await deliveries.locator('.el-table__row [data-status="failed"]').count()) > 0, "the status filter shows no failed delivery");
  await check(page, "deliveries");

  await page.getByRole("link", { name: "Channels" }).click();
  await downRow.getByRole("button", { name: `Delete ${down}` }).click();
  await page.getByRole("dialog").getByRole("button", { name: "Delete" }).click();
  await downRow.waitFor({ state: "detached" });
  await signOut(page);

  // An ordinary user: no scope to choose, and only their own channels.
  const user = `notify${stamp}`;
  const api = await adminApi();
  const registered = await api("POST", "/api/auth/register", { username: user, email: `${user}@example.com`, password: "s3cret-pass", password_confirm: "s3cret-pass" });
  expect(registered.status === 200 || registered.status === 201, `registering ${user}: ${JSON.stringify(registered)}`);
  await signIn(page, user, "s3cret-pass");
  await page.goto(at("/notifications?lang=en"));
  await page.getByRole("heading", { name: "Notification channels" }).waitFor();
  await page.getByText("No notification channels yet").waitFor();
  expect((await page.locator(".el-table__row", { hasText: ops }).count()) === 0, "an ordinary user sees an admin's channel");
  await page.getByRole("button", { name: "New channel" }).click();
  await dialog.getByLabel("Name", { exact: true }).waitFor();
  expect((await dialog.getByText("all (everything, admins only)").count()) === 0, "an ordinary user is offered scope all");
  await dialog.getByRole("button", { name: "Cancel" }).click();
  await signOut(page);
  await context.close();
  return errors;
}
