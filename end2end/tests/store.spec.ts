import { test, expect } from "@playwright/test";
import { spawn } from "node:child_process";
import * as path from "node:path";
import { dataDir } from "../playwright.config";
import { DEMO_URL, openLive } from "./helpers";

// Another process holds an exclusive lock on the demo server's database: the page says the
// store is failing (and that no action is taken without its record), then that it is back.
test("a locked store shows a banner on the page, and it clears when the store writes again", async ({ page }) => {
  await openLive(page, DEMO_URL);
  await expect(page.getByTestId("store-failing")).toHaveCount(0);
  const db = path.join(dataDir(3102), "dockerpulse.db");
  const script = [
    "import sqlite3, sys, time",
    "c = sqlite3.connect(sys.argv[1], isolation_level=None, timeout=30)",
    "c.execute('BEGIN EXCLUSIVE')",
    "print('locked', flush=True)",
    "time.sleep(12)",
    "c.execute('COMMIT')",
  ].join("\n");
  const locker = spawn("python3", ["-c", script, db], { stdio: ["ignore", "pipe", "inherit"] });
  await new Promise<void>((resolve) => locker.stdout!.once("data", () => resolve()));
  const banner = page.getByTestId("store-failing");
  await expect(banner).toBeVisible({ timeout: 15_000 });
  await expect(banner).toContainText("no healing action is taken");
  await page.screenshot({ path: "test-results/store-failing.png", fullPage: true });
  await new Promise<void>((resolve) => locker.once("exit", () => resolve()));
  await expect(banner).toHaveCount(0, { timeout: 15_000 });
});
