import { test, expect } from "@playwright/test";
import { spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { card, openLive } from "./helpers";

// A thousand containers: the fleet page renders only the cards on or near the screen, and
// search, filter, sort and scrolling still reach every one of them.
const PORT = 3103;
const URL = `http://127.0.0.1:${PORT}`;
const N = 1000;
let server: ChildProcess | undefined;
let dir = "";

test.beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockerpulse-e2e-1000-"));
  const bin = process.env.DOCKERPULSE_BIN ?? `${process.env.HOME}/.cache/dockerpulse/target/debug/dockerpulse`;
  server = spawn(bin, ["serve", "--demo", "--bind", `127.0.0.1:${PORT}`], {
    env: {
      ...process.env,
      DOCKERPULSE_SITE_ROOT: process.env.DOCKERPULSE_SITE_ROOT ?? "../target/site",
      DOCKERPULSE_DATA_DIR: dir,
      DOCKERPULSE_REPORTS_DIR: path.join(dir, "reports"),
      DOCKERPULSE_DEMO_CONTAINERS: String(N),
      RUST_LOG: "warn",
    },
    stdio: "ignore",
  });
  for (let i = 0; i < 100; i++) {
    try {
      if ((await fetch(`${URL}/api/health`)).ok) return;
    } catch { /* not up yet */ }
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error("the 1,000-container server did not start");
});

test.afterAll(async () => {
  server?.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

const rendered = (page: import("@playwright/test").Page) => page.getByTestId("card").count();

test("a thousand containers: only the visible cards are rendered, all are reachable", async ({ page }) => {
  await page.setViewportSize({ width: 1280, height: 900 });
  await openLive(page, URL);
  const fleet = page.getByTestId("fleet");
  await expect(page.locator(".shown")).toHaveText(`${N} shown`, { timeout: 30_000 });
  await expect(page.getByTestId("card").first()).toBeVisible();
  expect(await rendered(page)).toBeLessThanOrEqual(60);
  // The grid is as tall as all its rows: the scrollbar is true to the fleet.
  const height = await fleet.evaluate((el) => el.getBoundingClientRect().height);
  expect(height).toBeGreaterThan((N / 4) * 340);

  const names: string[] = await page.evaluate(async () =>
    (await (await fetch("/api/containers")).json()).map((c: { info?: { name: string }; name?: string }) => c.info?.name ?? c.name));
  expect(names.length).toBe(N);
  const last = [...names].sort().at(-1) as string;

  // Search reaches a container far down the list.
  await page.getByTestId("search").fill(last);
  await expect(page.locator(".shown")).toHaveText(/^\d+ shown$/);
  await expect(card(page, last)).toBeVisible();
  await page.getByTestId("search").fill("");
  await expect(page.locator(".shown")).toHaveText(`${N} shown`);

  // Sorted by name, scrolled to the end: the last card is there, and still few are rendered.
  await page.getByTestId("sort").selectOption("name");
  await expect(card(page, last)).toHaveCount(0);
  await page.evaluate(() => window.scrollTo(0, document.body.scrollHeight));
  await expect(card(page, last)).toBeVisible();
  expect(await rendered(page)).toBeLessThanOrEqual(60);
  await page.screenshot({ path: test.info().outputPath("1000-bottom.png") });

  // Back to the top: the first cards again, updating live.
  await page.evaluate(() => window.scrollTo(0, 0));
  const first = [...names].sort()[0];
  await expect(card(page, first)).toBeVisible();

  // A detail view of one of them has its history at once (it watches that container).
  await card(page, first).getByRole("link", { name: first }).click();
  await expect(page).toHaveURL(/\/containers\//);
  await expect(page.locator("svg path.series.measured").first()).toBeVisible({ timeout: 10_000 });
});
