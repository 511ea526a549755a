import { test, expect } from "@playwright/test";
import { card, DEMO_URL, ENGINE_URL, engineAvailable, openLive, percent, removeContainer, runContainer } from "./helpers";

test.describe("live fleet on the real engine", () => {
  let burner = "";
  test.beforeAll(() => {
    if (engineAvailable()) burner = runContainer("burner", [], ["sh", "-c", "yes > /dev/null"]);
  });
  test.afterAll(() => { if (burner) removeContainer(burner); });

  test("the page hydrates and cards show live CPU that changes", async ({ page }) => {
    test.skip(!burner, "no Docker engine");
    await openLive(page, ENGINE_URL);
    await expect(page.getByTestId("engine")).toContainText("Docker");
    const c = card(page, burner);
    await expect(c).toBeVisible();
    const cpu = c.getByTestId("cpu");
    await expect(cpu).toHaveText(/%/);
    const first = await cpu.textContent();
    await expect.poll(async () => cpu.textContent(), { timeout: 10_000 }).not.toBe(first);
    await expect.poll(async () => percent(await cpu.textContent()), { timeout: 15_000 }).toBeGreaterThan(50);
    await expect(page.getByTestId("simulated-banner")).toHaveCount(0);
    await page.screenshot({ path: "test-results/live-engine.png", fullPage: true });
  });
});

test("the demo fleet is labelled SIMULATED and shows seven services", async ({ page }) => {
  await openLive(page, DEMO_URL);
  await expect(page.getByTestId("simulated-banner")).toBeVisible();
  await expect(page.getByTestId("engine")).toContainText("SIMULATED");
  await expect(page.getByTestId("card")).toHaveCount(7);
  for (const name of ["oracle-db", "nginx", "redis", "postgres", "rabbitmq", "flask-api", "node-service"]) {
    await expect(card(page, name)).toBeVisible();
  }
  await page.screenshot({ path: "test-results/demo.png", fullPage: true });
});
