import { test, expect } from "@playwright/test";
import { spawn, ChildProcess } from "node:child_process";
import * as fs from "node:fs";
import * as os from "node:os";
import * as path from "node:path";
import { openLive } from "./helpers";

// A hub and one agent (the real binary twice, on loopback): the hub's page shows the agent's
// containers with their node, the node's health, a node filter and the cluster page; when the
// agent dies the node shows as lost and its cards as stale.
const HUB = 3106;
const AGENT = 3107;
const URL = `http://127.0.0.1:${HUB}`;
const TOKEN = "e2e-token-of-node-n1";
const bin = process.env.DOCKERPULSE_BIN ?? `${process.env.HOME}/.cache/dockerpulse/target/debug/dockerpulse`;
const siteRoot = process.env.DOCKERPULSE_SITE_ROOT ?? "../target/site";
let dir = "";
let hub: ChildProcess | undefined;
let agent: ChildProcess | undefined;

function start(name: string, toml: string, args: string[] = ["serve"]): ChildProcess {
  const home = path.join(dir, name);
  fs.mkdirSync(home, { recursive: true });
  const config = path.join(home, "dockerpulse.toml");
  fs.writeFileSync(config,
    `data_dir = "${home}/data"\nreports_dir = "${home}/reports"\nsite_root = "${path.resolve(siteRoot)}"\n` +
    `demo_when_no_engine = false\n${toml}`);
  return spawn(bin, ["--config", config, ...args], { env: { ...process.env, RUST_LOG: "warn" }, stdio: "ignore" });
}

async function health(url: string): Promise<any> {
  try {
    const r = await fetch(`${url}/api/health`);
    return r.ok ? await r.json() : undefined;
  } catch { return undefined; }
}

test.beforeAll(async () => {
  dir = fs.mkdtempSync(path.join(os.tmpdir(), "dockerpulse-e2e-cluster-"));
  hub = start("hub", `bind = "127.0.0.1:${HUB}"\n[cluster]\nwatch_local = false\n[[cluster.agents]]\nnode = "n1"\ntoken = "${TOKEN}"\n`);
  // The agent as a user starts it: `dockerpulse agent --hub … --node … --token-file …`.
  const tokenFile = path.join(dir, "token");
  fs.writeFileSync(tokenFile, `${TOKEN}\n`, { mode: 0o600 });
  agent = start("agent", `bind = "127.0.0.1:${AGENT}"\ndemo = true\ndemo_containers = 12\n`,
    ["agent", "--hub", `ws://127.0.0.1:${HUB}`, "--node", "n1", "--token-file", tokenFile]);
  for (let i = 0; i < 100; i++) {
    const h = await health(URL);
    if (h?.nodes?.[0]?.state === "connected" && h.containers === 12) return;
    await new Promise((r) => setTimeout(r, 300));
  }
  throw new Error("the hub never saw its agent's 12 containers");
});

test.afterAll(async () => {
  agent?.kill("SIGKILL");
  hub?.kill();
  fs.rmSync(dir, { recursive: true, force: true });
});

test("a hub shows its node's containers and health, filters by node, and shows the node lost", async ({ page }) => {
  await openLive(page, URL);
  await expect(page.locator(".shown")).toHaveText("12 shown");
  // Every card says its node; the header strip says how the node's agent is doing.
  await expect(page.getByTestId("node").first()).toBeVisible();
  expect(await page.getByTestId("node").count()).toBe(await page.getByTestId("card").count());
  await expect(page.getByTestId("node").first()).toHaveText("⬢ n1");
  const status = page.locator('[data-testid="node-status"][data-node="n1"]');
  await expect(status).toHaveAttribute("data-state", "connected");
  await expect(status).toContainText(/n1 \(SIMULATED\) · 12 · lag \d+ ms/);
  // Its agent runs the demo fleet: the hub says so, as a single host would.
  await expect(page.getByTestId("simulated-nodes")).toContainText("n1");
  await expect(page.getByTestId("engine")).toContainText("none here");

  await page.getByTestId("node-filter").selectOption("n1");
  await expect(page.locator(".shown")).toHaveText("12 shown");
  await expect(page).toHaveURL(/node=n1/);

  await page.getByTestId("cluster-link").click();
  await expect(page).toHaveURL(/\/cluster/);
  const row = page.locator('[data-testid="cluster-node"][data-node="n1"]');
  await expect(row).toHaveAttribute("data-state", "connected");
  await expect(page.locator('[data-testid="node-records"][data-node="n1"]')).toBeVisible();

  // The agent dies: the node is lost, its containers stay, marked stale.
  agent?.kill("SIGKILL");
  await expect(row).toHaveAttribute("data-state", "lost", { timeout: 10_000 });
  await expect(page.getByTestId("node-lost")).toContainText("n1");
  await page.goto(URL);
  await expect(page.getByTestId("connection")).toHaveText(/LIVE/);
  // Every card rendered (the grid renders those on screen) is stale, none is not.
  await expect(page.locator(".card.stale").first()).toBeVisible();
  await expect(page.locator(".card:not(.stale)")).toHaveCount(0);
  await expect(page.locator('[data-testid="node"].lost').first()).toBeVisible();
  await page.screenshot({ path: test.info().outputPath("node-lost.png") });
});
