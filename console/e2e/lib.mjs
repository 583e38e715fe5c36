// The console's browser tests: Playwright (playwright-core) on Debian's Chromium, against a running service.
// Helpers shared by the scenarios in run.mjs: launching, signing in, the per-view checks (no console errors, axe,
// screenshots in both languages) and small waits.
import { mkdirSync, readFileSync } from "node:fs";
import { createRequire } from "node:module";
import { join } from "node:path";
import { chromium } from "playwright-core";

export const env = {
  url: required("AKSHAREWEB_URL"),
  pathBase: process.env.AKSHAREWEB_PATH_BASE ?? "",
  adminPassword: required("AKSHAREWEB_ADMIN_PASSWORD"),
  akTools: process.env.AKTOOLS_URL ?? "",
  results: process.env.CONSOLE_RESULTS ?? join(process.cwd(), "..", ".data", "test-results", "console"),
  chromium: process.env.CHROMIUM ?? "/usr/bin/chromium",
};

function required(name) {
  const value = process.env[name];
  if (!value) throw new Error(`${name} is not set`);
  return value;
}

/** Chromium as this closed network needs it: no sandbox (root), no GPU, no background connections that would be refused. */
export async function launch() {
  return chromium.launch({
    executablePath: env.chromium,
    headless: true,
    chromiumSandbox: false,
    args: [
      "--disable-gpu",
      "--disable-quic",
      "--no-first-run",
      "--disable-background-networking",
      "--disable-component-update",
      "--disable-sync",
      "--disable-dev-shm-usage",
    ],
  });
}

/**
 * A fresh browser context (its own cookies and storage) in a zone far from Beijing, so times shown in Beijing time are
 * not the browser's by accident, with every console error and page error collected.
 */
export async function open(browser, options = {}) {
  const context = await browser.newContext({
    viewport: { width: 1440, height: 900 },
    acceptDownloads: true,
    locale: "zh-CN",
    timezoneId: "America/New_York",
    ...options,
  });
  context.setDefaultTimeout(20_000);
  const page = await context.newPage();
  const errors = [];
  // Chromium logs every answer of 4xx/5xx as "Failed to load resource". A scenario that provokes one on purpose (a
  // wrong password, a 422 to be shown beside its field) says so; any other is an error of the console.
  const expected = [];
  const watch = (p) => {
    p.on("console", (message) => {
      if (message.type() !== "error") return;
      const failedLoad = /^Failed to load resource: the server responded with a status of (\d+)/.exec(message.text());
      const resource = message.location()?.url ?? "";
      if (failedLoad && expected.some((e) => e.status === Number(failedLoad[1]) && resource.includes(e.path))) return;
      errors.push(`console: ${message.text()} ${resource} (page ${p.url()})`);
    });
    p.on("pageerror", (error) => errors.push(`page error: ${error.message} (${p.url()})`));
  };
  watch(page);
  context.on("page", watch);
  /** Declares an error answer the scenario provokes on purpose: status, and a part of the API path. */
  const provoke = (status, path) => expected.push({ status, path });
  return { context, page, errors, provoke };
}

let base = "";

/** Scenarios run at the service's root; the prefix scenario runs under the path base, as behind a proxy. */
export function underPrefix() {
  base = env.pathBase;
}

export function at(path) {
  return `${env.url}${base}${path}`;
}

let checks = 0;

/**
 * One view, looked at as a person would, in Chinese and in English (the switch in the page changes the language
 * without a reload): in each, axe-core finds no serious or critical violation, and a screenshot is saved.
 */
export async function check(page, name) {
  mkdirSync(env.results, { recursive: true });
  const t0 = Date.now();
  await settle(page);
  for (const language of ["zh", "en"]) {
    const t1 = Date.now();
    await setLanguage(page, language);
    await settle(page);
    const t2 = Date.now();
    await axe(page, `${name} (${language})`);
    if (process.env.E2E_TIMING) console.log(`${name} ${language}: settle ${t2 - t1} ms, axe ${Date.now() - t2} ms (first settle ${t1 - t0} ms)`);
    // The sticky top bar would be drawn where the page was scrolled to.
    await page.evaluate(() => window.scrollTo(0, 0));
    await page.screenshot({ path: join(env.results, `${name}-${language}.png`), fullPage: true });
  }
  checks++;
}

/**
 * What is open now (a dialog over a view), in both languages as check() does, ending in the language it found. The
 * dialog's overlay lies over the language switch, so the switch is clicked as the page's own script would be. A message
 * box (a confirmation) has its words fixed when it opens: `bothLanguages: false` looks at it in that language only.
 */
export async function look(page, name, { bothLanguages = true } = {}) {
  mkdirSync(env.results, { recursive: true });
  // The pointer off the button just clicked: its hover colours are not what a person reads.
  await page.mouse.move(0, 0);
  await settle(page);
  const found = (await page.locator("html").getAttribute("lang")) === "en" ? "en" : "zh";
  const other = found === "en" ? "zh" : "en";
  for (const language of bothLanguages ? [found, other] : [found]) {
    await setLanguage(page, language, { behindOverlay: true });
    await settle(page);
    await axe(page, `${name} (${language})`);
    await page.screenshot({ path: join(env.results, `${name}-${language}.png`), fullPage: true });
  }
  await setLanguage(page, found, { behindOverlay: true });
  checks++;
}

export function checked() {
  return checks;
}

async function setLanguage(page, language, { behindOverlay = false } = {}) {
  const isEnglish = (await page.locator("html").getAttribute("lang")) === "en";
  if ((language === "en") === isEnglish) return;
  const button = page.locator(".language-switch").first();
  if (behindOverlay) await button.dispatchEvent("click");
  else await button.click();
  await page.waitForFunction((want) => document.documentElement.lang === want, language === "en" ? "en" : "zh-CN");
}

// axe-core's own build, as @axe-core/playwright injects it. That wrapper puts the whole script into the page again at
// every analysis, and then into a new blank page to merge the frames' partial results; the console has no frames, so
// one axe.run in the page gives the same violations, and the script stays in the document until it navigates away.
// Those extra injections and pages were most of the browser tests' CPU time.
const axeSource = readFileSync(createRequire(import.meta.url).resolve("axe-core/axe.min.js"), "utf8");
const wcag = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"];

async function axe(page, what) {
  if (!(await page.evaluate(() => typeof window.axe?.run === "function"))) await page.evaluate(axeSource);
  const bad = await page.evaluate(async (tags) => {
    const result = await window.axe.run(document, { runOnly: { type: "tag", values: tags }, resultTypes: ["violations"] });
    return result.violations
      .filter((v) => v.impact === "serious" || v.impact === "critical")
      .map((v) => ({ id: v.id, impact: v.impact, help: v.help, nodes: v.nodes.slice(0, 5).map((n) => ({ target: n.target, html: n.html })) }));
  }, wcag);
  if (bad.length > 0) {
    const detail = bad
      .map((v) => `${v.impact} ${v.id}: ${v.help}\n${v.nodes.map((n) => `    ${n.target.join(" ")} ${n.html.slice(0, 200)}`).join("\n")}`)
      .join("\n");
    throw new Error(`axe found ${bad.length} serious or critical violation(s) on ${what}:\n${detail}`);
  }
}

/** No request in flight, no loading mask, fonts drawn: what a screenshot should wait for. */
export async function settle(page) {
  await page.waitForLoadState("networkidle").catch(() => undefined);
  await page.locator(".el-loading-mask").first().waitFor({ state: "detached", timeout: 15_000 }).catch(() => undefined);
  // A toast ("Download started") fades out within 3 s; axe would measure its contrast half-faded.
  await page.locator(".el-message").first().waitFor({ state: "detached", timeout: 6_000 }).catch(() => undefined);
  await page.evaluate(() => document.fonts.ready);
  // Element Plus animates menus, dialogs and messages (up to 300 ms); a screenshot or axe's contrast check taken halfway
  // would see half-faded colours. Vue starts a transition a frame or two after the change (its enter-from class first),
  // so after two frames: no element in a transition's active class, no finite animation running (spinners loop forever).
  await page.evaluate(() => new Promise((done) => requestAnimationFrame(() => requestAnimationFrame(done))));
  await page.waitForFunction(() =>
    document.querySelector('[class*="-enter-active"], [class*="-leave-active"]') === null &&
    document.getAnimations().every((a) => a.playState !== "running" || a.effect?.getComputedTiming().endTime === Infinity));
}

export async function signIn(page, username, password, path = "/?lang=en") {
  await page.goto(at(path));
  await page.getByLabel(/^(Username|用户名)$/).fill(username);
  await page.getByLabel(/^(Password|密码)$/).fill(password);
  await page.getByRole("button", { name: /^(Sign in|登录)$/ }).click();
  await page.getByRole("link", { name: /^(Home|首页)$/ }).waitFor();
}

export async function signOut(page) {
  await page.getByRole("button", { name: /^(Sign out|退出登录)$/ }).click();
  await page.getByRole("button", { name: /^(Sign in|登录)$/ }).waitFor();
}

/**
 * Presses Tab until the focused element is the link or button named `name` (its text or aria-label), as a keyboard
 * user would reach it; fails after `limit` presses.
 */
export async function tabTo(page, name, limit = 60) {
  const focused = () => page.evaluate(() => {
    const e = document.activeElement;
    return e ? (e.getAttribute("aria-label") ?? e.textContent ?? "").trim() : "";
  });
  for (let i = 0; i < limit; i++) {
    await page.keyboard.press("Tab");
    if ((await focused()) === name) return;
  }
  throw new Error(`${limit} presses of Tab did not reach "${name}" (focus is on "${await focused()}")`);
}

/** Opens an Element Plus select and picks an option by its visible name. */
export async function choose(page, selectLabel, option) {
  await openSelect(page, selectLabel);
  await page.getByRole("option", { name: option, exact: true }).last().click();
}

/** The select's box takes the click (its placeholder lies over the input). */
export async function openSelect(page, selectLabel) {
  const input = page.getByRole("combobox", { name: selectLabel, exact: true });
  await input.locator("xpath=ancestor::div[contains(@class, 'el-select__wrapper')]").click();
}

/** Clicks an Element Plus radio button by its text (its input is hidden behind the label). */
export async function pick(scope, text) {
  await scope.locator(".el-radio-button", { hasText: new RegExp(`^\\s*${text}\\s*$`) }).first().click();
}

/** A call of the API outside the browser, as an admin: setting up what a scenario looks at. */
export async function adminApi() {
  const login = await fetch(at("/api/auth/login"), {
    method: "POST",
    headers: { "Content-Type": "application/json" },
    body: JSON.stringify({ username: "admin", password: env.adminPassword }),
  });
  const token = (await login.json()).data.access_token;
  return async (method, path, body) => {
    const answer = await fetch(at(path), {
      method,
      headers: { Authorization: `Bearer ${token}`, ...(body ? { "Content-Type": "application/json" } : {}) },
      body: body ? JSON.stringify(body) : undefined,
    });
    const text = await answer.text();
    return { status: answer.status, body: text ? JSON.parse(text) : null };
  };
}

export function expect(condition, message) {
  if (!condition) throw new Error(message);
}
