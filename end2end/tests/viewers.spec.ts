import { test, expect } from "@playwright/test";
import { DEMO_URL, openLive } from "./helpers";

// One client holds every place the server allows an address ([viewers] max_per_client, 100 by
// default): the next dashboard from that address is turned away, says why, and gets in by
// itself once places are free again.
test("a dashboard beyond the viewer cap says why and joins once a place is free", async ({ browser }) => {
  const hog = await browser.newPage();
  await hog.goto(DEMO_URL);
  const held = await hog.evaluate(async () => {
    const health = await (await fetch("/api/health")).json();
    const free = health.viewers.max_per_client - health.viewers.connected;
    const sockets: WebSocket[] = [];
    await Promise.all(
      Array.from({ length: free }, () => new Promise<void>((resolve) => {
        const ws = new WebSocket(`ws://${location.host}/ws`);
        ws.onmessage = () => resolve();
        ws.onclose = () => resolve();
        sockets.push(ws);
      })),
    );
    (window as unknown as { held: WebSocket[] }).held = sockets;
    return sockets.filter((s) => s.readyState === WebSocket.OPEN).length;
  });
  expect(held).toBeGreaterThan(0);

  const page = await browser.newPage();
  await page.goto(DEMO_URL);
  const banner = page.getByTestId("viewer-refused");
  await expect(banner).toBeVisible({ timeout: 15_000 });
  await expect(banner).toContainText("too many viewers from your address");
  await page.screenshot({ path: "test-results/viewer-refused.png", fullPage: true });
  const health = await (await page.request.get(`${DEMO_URL}/api/health`)).json();
  expect(health.viewers.refused).toBeGreaterThan(0);

  // The hog lets go: the refused dashboard takes a place on its next try (every 10 s).
  await hog.evaluate(() => (window as unknown as { held: WebSocket[] }).held.forEach((s) => s.close()));
  await hog.close();
  await expect(banner).toHaveCount(0, { timeout: 25_000 });
  await openLive(page, DEMO_URL);
});
