import { execFileSync } from "node:child_process";
import { expect, Page } from "@playwright/test";

export const ENGINE_URL = "http://127.0.0.1:3101";
export const DEMO_URL = "http://127.0.0.1:3102";
export const TEST_IMAGE = process.env.DOCKERPULSE_TEST_IMAGE ?? "dockerpulse-test/busybox:latest";

/** True when a Docker engine and the test image are there; otherwise skip loudly (or fail in CI). */
export function engineAvailable(): boolean {
  try {
    execFileSync("docker", ["image", "inspect", TEST_IMAGE], { stdio: "ignore" });
    return true;
  } catch {
    const msg = `*** NO DOCKER ENGINE or no ${TEST_IMAGE}: engine end-to-end tests SKIPPED ***`;
    if (process.env.DOCKERPULSE_REQUIRE_ENGINE === "1") throw new Error(msg);
    console.warn(msg);
    return false;
  }
}

/** `docker run -d` a labelled test container; returns its name. */
export function runContainer(hint: string, args: string[], cmd: string[]): string {
  const name = `dp-e2e-${hint}-${process.pid}`;
  try { execFileSync("docker", ["rm", "-f", name], { stdio: "ignore" }); } catch { /* not there */ }
  execFileSync("docker", ["run", "-d", "--name", name, "--label", "dockerpulse.test", ...args, TEST_IMAGE, ...cmd]);
  return name;
}

export function removeContainer(name: string) {
  try { execFileSync("docker", ["rm", "-f", name], { stdio: "ignore" }); } catch { /* already gone */ }
}

/** Loads the dashboard and waits until it is hydrated and receiving live frames. */
export async function openLive(page: Page, url: string) {
  await page.goto(url);
  await expect(page.getByTestId("connection")).toHaveText(/LIVE/);
}

export function card(page: Page, name: string) {
  return page.locator(`[data-testid="card"][data-name="${name}"]`);
}

/** A percentage like "97.3 %" as a number. */
export function percent(text: string | null): number {
  const m = (text ?? "").match(/(-?\d+(\.\d+)?)\s*%/);
  return m ? Number(m[1]) : NaN;
}
