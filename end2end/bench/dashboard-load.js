// Benchmark (not a test): how hard the dashboard works in Chromium with a large fleet.
// Start DockerPulse with a big demo fleet first, e.g.
//   DOCKERPULSE_DEMO_CONTAINERS=1000 dockerpulse serve --demo --bind 127.0.0.1:3200
// then: node end2end/bench/dashboard-load.js http://127.0.0.1:3200 30
// Prints how long the first cards took to show (from navigation), the main thread's busy time
// per second (Chromium's TaskDuration / ScriptDuration), cards rendered, and long tasks.
const { chromium } = require("playwright-core");

(async () => {
  const url = process.argv[2] || "http://127.0.0.1:3200";
  const secs = Number(process.argv[3] || 30);
  const browser = await chromium.launch({
    executablePath: process.env.CHROMIUM || "/usr/bin/chromium",
    args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run",
      "--disable-background-networking", "--disable-component-update", "--disable-sync"],
  });
  const page = await browser.newPage({ viewport: { width: 1920, height: 1080 } });
  const t_nav = Date.now();
  await page.goto(url);
  await page.waitForSelector("[data-testid=card]", { timeout: 30000 });
  const first_cards_ms = Date.now() - t_nav;
  await page.waitForSelector("text=LIVE", { timeout: 30000 });
  await page.waitForTimeout(5000); // snapshot applied, steady state
  const cards = await page.locator("[data-testid=card]").count();
  await page.evaluate(() => {
    window.__long = [];
    new PerformanceObserver((l) => l.getEntries().forEach((e) => window.__long.push(e.duration)))
      .observe({ type: "longtask", buffered: false });
  });
  const cdp = await page.context().newCDPSession(page);
  await cdp.send("Performance.enable");
  const metric = async () => Object.fromEntries((await cdp.send("Performance.getMetrics")).metrics.map((m) => [m.name, m.value]));
  const seen0 = await page.evaluate(() => document.querySelectorAll("[data-testid=card]").length);
  const m0 = await metric();
  const t0 = Date.now();
  await page.waitForTimeout(secs * 1000);
  const m1 = await metric();
  const wall = (Date.now() - t0) / 1000;
  const long = await page.evaluate(() => window.__long);
  const pct = (k) => (((m1[k] - m0[k]) / wall) * 100).toFixed(1);
  console.log(`first cards shown ${first_cards_ms} ms after navigation`);
  console.log(`cards rendered: ${cards} (${seen0}); fleet: ${await page.locator(".shown").textContent()}`);
  console.log(`main thread busy: ${pct("TaskDuration")} % of the time (script ${pct("ScriptDuration")} %, layout ${pct("LayoutDuration")} %, style ${pct("RecalcStyleDuration")} %)`);
  console.log(`per 1 Hz frame: ~${(((m1.TaskDuration - m0.TaskDuration) / wall) * 1000).toFixed(0)} ms of main-thread work`);
  console.log(`long tasks (>50 ms): ${long.length}${long.length ? `, longest ${Math.max(...long).toFixed(0)} ms` : ""}`);
  console.log(`JS heap: ${(m1.JSHeapUsedSize / 1048576).toFixed(1)} MiB used`);
  await browser.close();
})();
