// The console's speed in Chromium (run by bench/console.sh, which starts the service with a 5,000-bar table):
// - first view: a signed-out visitor's sign-in form, from navigation to the form taking input (as Playwright sees it,
//   and inside the page: HTML, scripts, the form drawn, the console's mark aw-signin-ready); the JavaScript loaded
//   before it (as the build wrote it gzipped, and as sent: brotli); a signed-in reload to the Home view;
// - a 50-row data page: from its answer (JSON parsed) to the next frame after Vue drew it (the console's own marks
//   aw-data-answer and aw-data-drawn);
// - a chart of 5,000 bars: from asking to drawn (export fetched, CSV read, ECharts set), and the frame intervals while
//   it is dragged (panned), at the opening window and zoomed out.
import { statSync } from "node:fs";
import { join } from "node:path";
import { launch, open } from "../e2e/lib.mjs";

const url = process.env.AKSHAREWEB_URL;
const password = process.env.AKSHAREWEB_ADMIN_PASSWORD;
const table = process.env.BENCH_TABLE ?? "ak_bench_bars";
const repeats = Number(process.env.BENCH_REPEATS ?? 15);

const stats = (values) => {
  const s = [...values].sort((a, b) => a - b);
  const at = (q) => s[Math.min(s.length - 1, Math.floor(q * s.length))];
  return { n: s.length, median: at(0.5), p95: at(0.95), max: s[s.length - 1] };
};
const fmt = (st, unit = "ms") => `median ${st.median.toFixed(1)} ${unit}, p95 ${st.p95.toFixed(1)} ${unit}, max ${st.max.toFixed(1)} ${unit} (n=${st.n})`;

const browser = await launch();
try {
  // ---- first view, signed out --------------------------------------------------------------------------------
  const firstView = [];
  const html = [];
  const loaded = [];
  const ready = [];
  let gzipped = 0;
  let sent = 0;
  let scripts = 0;
  for (let i = 0; i < repeats; i++) {
    const { context, page } = await open(browser);
    const responses = [];
    page.on("response", (r) => r.request().resourceType() === "script" && responses.push(r));
    const t0 = Date.now();
    await page.goto(`${url}/?lang=en`);
    const button = page.getByRole("button", { name: "Sign in" });
    await button.waitFor();
    await page.getByLabel("Username", { exact: true }).fill("x");
    firstView.push(Date.now() - t0);
    // Inside the page, from the navigation's start: the HTML, the scripts, the form drawn.
    const inPage = await page.evaluate(() => {
      const nav = performance.getEntriesByType("navigation")[0];
      const scripts = performance.getEntriesByType("resource").filter((r) => r.name.endsWith(".js"));
      return {
        html: nav.responseEnd,
        scripts: Math.max(0, ...scripts.map((r) => r.responseEnd)),
        ready: performance.getEntriesByName("aw-signin-ready")[0]?.startTime ?? NaN,
      };
    });
    html.push(inPage.html);
    loaded.push(inPage.scripts);
    ready.push(inPage.ready);
    if (i === 0) {
      scripts = responses.length;
      for (const r of responses) {
        gzipped += statSync(join("dist", "assets", `${new URL(r.url()).pathname.split("/").pop()}.gz`)).size;
        sent += (await r.request().sizes()).responseBodySize;
      }
    }
    await context.close();
  }
  console.log(`first view (sign-in form taking input, signed out, fresh browser context): ${fmt(stats(firstView))}`);
  console.log(`  inside the page, from navigation start: HTML received ${fmt(stats(html))}; scripts received ${fmt(stats(loaded))}; form drawn (aw-signin-ready) ${fmt(stats(ready))}`);
  console.log(`JavaScript before the first view: ${scripts} file(s), ${(gzipped / 1024).toFixed(1)} KB gzipped (${(sent / 1024).toFixed(1)} KB sent as brotli); budget 300 KB gzipped`);

  // ---- signed in: Home after a reload (the session continues through the refresh cookie) ------------------------
  const { context, page } = await open(browser);
  await page.goto(`${url}/?lang=en`);
  await page.getByLabel("Username", { exact: true }).fill("admin");
  await page.getByLabel("Password", { exact: true }).fill(password);
  await page.getByRole("button", { name: "Sign in" }).click();
  await page.getByRole("region", { name: "Tables by freshness (stalest first)" }).getByRole("link", { name: table }).waitFor();
  const home = [];
  for (let i = 0; i < repeats; i++) {
    const t0 = Date.now();
    await page.reload();
    await page.getByRole("region", { name: "Tables by freshness (stalest first)" }).getByRole("link", { name: table }).waitFor();
    home.push(Date.now() - t0);
  }
  console.log(`Home after a reload, signed in (cookie refresh, profile, runs, tasks, tables): ${fmt(stats(home))}`);

  // ---- a 50-row data page ----------------------------------------------------------------------------------
  await page.goto(`${url}/tables/${table}?lang=en`);
  await page.getByTestId("data-table").locator("tbody tr").nth(49).waitFor();
  const draws = [];
  for (let i = 0; i < repeats * 2; i++) {
    await page.evaluate(() => performance.clearMarks());
    await page.getByRole("button", { name: i % 2 === 0 ? "Next page" : "Previous page" }).click();
    await page.waitForFunction(() => performance.getEntriesByName("aw-data-drawn").length > 0);
    draws.push(await page.evaluate(() => performance.getEntriesByName("aw-data-drawn")[0].startTime - performance.getEntriesByName("aw-data-answer")[0].startTime));
  }
  console.log(`50-row data page (16 columns), answer to drawn: ${fmt(stats(draws))}`);

  // ---- a chart of 5,000 bars --------------------------------------------------------------------------------
  await page.getByRole("tab", { name: "Chart" }).click();
  await page.getByTestId("chart-points").filter({ hasText: "5000 points" }).waitFor();
  const chartDraws = [];
  for (let i = 0; i < repeats; i++) {
    await page.evaluate(() => performance.clearMarks());
    const t0 = await page.evaluate(() => performance.now());
    await page.getByRole("button", { name: "Draw" }).click();
    await page.waitForFunction(() => performance.getEntriesByName("aw-chart-drawn").length > 0);
    chartDraws.push((await page.evaluate(() => performance.getEntriesByName("aw-chart-drawn")[0].startTime)) - t0);
  }
  console.log(`chart of 5,000 bars with volume, Draw to drawn (export of 5,000 rows, CSV read, ECharts): ${fmt(stats(chartDraws))}`);

  const box = await page.getByTestId("chart").boundingBox();
  const pan = async (label) => {
    await page.evaluate(() => {
      window.__frames = [];
      window.__panning = true;
      const loop = (t) => {
        window.__frames.push(t);
        if (window.__panning) requestAnimationFrame(loop);
      };
      requestAnimationFrame(loop);
    });
    const y = box.y + box.height * 0.35;
    for (let sweep = 0; sweep < 4; sweep++) {
      const from = sweep % 2 === 0 ? box.x + box.width * 0.25 : box.x + box.width * 0.75;
      const to = sweep % 2 === 0 ? box.x + box.width * 0.75 : box.x + box.width * 0.25;
      await page.mouse.move(from, y);
      await page.mouse.down();
      await page.mouse.move(to, y, { steps: 40 });
      await page.mouse.up();
    }
    const frames = await page.evaluate(() => {
      window.__panning = false;
      return window.__frames;
    });
    const gaps = frames.slice(1).map((t, i) => t - frames[i]);
    const st = stats(gaps);
    const janky = gaps.filter((g) => g > 50).length;
    console.log(`panning the chart ${label}: frame interval ${fmt(st)}, ${(1000 / st.median).toFixed(0)} fps at the median, ${janky} frame(s) over 50 ms`);
  };
  await pan("(opening window, the last 120 of 5,000 bars)");
  await page.mouse.move(box.x + box.width / 2, box.y + box.height * 0.35);
  for (let i = 0; i < 12; i++) await page.mouse.wheel(0, 400);
  await page.waitForTimeout(300);
  await pan("(zoomed out with 12 wheel notches)");
  await context.close();
} finally {
  await browser.close();
}
