import { test, expect } from "@playwright/test";
import { readFileSync } from "node:fs";
import { pathToFileURL } from "node:url";
import { card, DEMO_URL, openLive } from "./helpers";

// The demo fleet stages a CPU storm on flask-api within 30 s; its incident gets an audit report.
test("Download audit gives a self-contained report of the incident", async ({ page }, testInfo) => {
  await openLive(page, DEMO_URL);
  const flask = card(page, "flask-api");
  const download = flask.getByTestId("download-audit");
  await expect(download).toBeVisible({ timeout: 90_000 });
  const href = (await download.getAttribute("href")) ?? "";
  const uuid = href.match(/incidents\/([0-9a-f-]{36})\//)?.[1];
  expect(uuid, href).toBeTruthy();

  const [file] = await Promise.all([page.waitForEvent("download"), download.click()]);
  expect(file.suggestedFilename()).toContain(uuid!);
  const saved = testInfo.outputPath(file.suggestedFilename());
  await file.saveAs(saved);
  const html = readFileSync(saved, "utf8");
  expect(html).toContain(uuid!);
  expect(html).not.toContain("<script");
  expect(html).toContain("dockerpulse:sha256");

  // Open the downloaded file itself in Chromium and keep a picture of it.
  const report = await page.context().newPage();
  await report.goto(pathToFileURL(saved).href);
  await expect(report.locator("h1")).toHaveText("flask-api");
  await expect(report.locator("body")).toContainText(uuid!);
  await expect(report.locator(".seal")).toContainText("SIMULATED");
  expect(await report.locator("svg").count()).toBeGreaterThanOrEqual(2);
  await report.screenshot({ path: testInfo.outputPath("audit-report.png"), fullPage: true });
});
