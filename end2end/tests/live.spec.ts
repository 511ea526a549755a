import { test, expect, type WebSocketRoute } from "@playwright/test";
import { card, DEMO_URL, ENGINE_URL, engineAvailable, openLive, percent, removeContainer, runContainer } from "./helpers";

test.describe("live fleet on the real engine", () => {
  let burner = "";
  test.beforeAll(() => {
    if (engineAvailable()) burner = runContainer("burner", [], ["sh", "-c", "yes > /dev/null"]);
  });
  test.afterAll(() => { if (burner) removeContainer(burner); });

  test("the page hydrates and cards show live CPU that changes", async ({ page }) => {
    test.skip(!burner, "no Docker engine");
    // Only this suite's containers: the engine may run many others, and the fleet page renders
    // only the cards on screen.
    await openLive(page, `${ENGINE_URL}/?q=dp-e2e-`);
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

test("a dropped websocket reconnects by itself and frames flow again", async ({ page }) => {
  const sockets: WebSocketRoute[] = [];
  await page.routeWebSocket(/\/ws$/, (ws) => {
    sockets.push(ws);
    ws.connectToServer();
  });
  await openLive(page, DEMO_URL);
  expect(sockets).toHaveLength(1);
  const status = page.getByTestId("connection");
  await sockets[0].close({ code: 1012, reason: "the test drops the connection" });
  await expect(status).toHaveText(/RECONNECTING/);
  // LIVE is shown again only once a message arrived on the new connection.
  await expect(status).toHaveText(/LIVE/, { timeout: 10_000 });
  expect(sockets).toHaveLength(2);
  const cpu = card(page, "nginx").getByTestId("cpu");
  const before = await cpu.textContent();
  await expect.poll(async () => cpu.textContent(), { timeout: 10_000 }).not.toBe(before);
});

test("the page reads the deflated join, and says so when a binary message cannot be read", async ({ page }) => {
  const sockets: WebSocketRoute[] = [];
  const kinds: string[] = [];
  await page.routeWebSocket(/\/ws$/, (ws) => {
    sockets.push(ws);
    const server = ws.connectToServer();
    server.onMessage((m) => {
      kinds.push(typeof m === "string" ? "text" : "binary");
      ws.send(m);
    });
  });
  await openLive(page, DEMO_URL);
  await expect(page.getByTestId("card")).toHaveCount(7);
  // The whole fleet and the sparklines came as binary (deflated), then ticks as text.
  expect(kinds.slice(0, 2)).toEqual(["binary", "binary"]);
  await expect.poll(() => kinds.includes("text"), { timeout: 5_000 }).toBe(true);
  await expect(page.getByTestId("outdated")).toHaveCount(0);
  sockets[0].send(Buffer.from("not deflate data"));
  await expect(page.getByTestId("outdated")).toBeVisible();
});

test("filters, sort and the chart range live in the URL and survive a reload", async ({ page }) => {
  await openLive(page, DEMO_URL);
  await page.getByTestId("search").fill("redis");
  await expect(page).toHaveURL(/[?&]q=redis/);
  await expect(page.getByTestId("card")).toHaveCount(1);
  await page.getByTestId("sort").selectOption("name");
  await expect(page).toHaveURL(/[?&]sort=name/);
  await page.reload();
  await expect(page.getByTestId("connection")).toHaveText(/LIVE/);
  await expect(page.getByTestId("search")).toHaveValue("redis");
  await expect(page.getByTestId("sort")).toHaveValue("name");
  await expect(page.getByTestId("card")).toHaveCount(1);
  // Clearing a filter removes it from the URL.
  await page.getByTestId("search").fill("");
  await expect(page).not.toHaveURL(/[?&]q=/);
  await expect(page.getByTestId("card")).toHaveCount(7);

  await openLive(page, `${DEMO_URL}/containers/redis`);
  await page.getByRole("group", { name: "time range" }).getByRole("button", { name: "5 min" }).click();
  await expect(page).toHaveURL(/\/containers\/redis\?range=300/);
  await page.reload();
  await expect(page.getByRole("group", { name: "time range" }).getByRole("button", { name: "5 min" })).toHaveClass(/on/);

  await openLive(page, `${DEMO_URL}/incidents`);
  await page.getByTestId("state-filter").selectOption("closed");
  await expect(page).toHaveURL(/\/incidents\?state=closed/);
  await page.reload();
  await expect(page.getByTestId("state-filter")).toHaveValue("closed");
});
