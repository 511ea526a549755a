import { defineConfig } from "@playwright/test";
import * as os from "node:os";
import * as path from "node:path";

// Two DockerPulse servers: one watching the real local engine, one on the demo fleet.
// The binary and site come from `cargo leptos build` (scripts/test.sh sets these variables).
const bin = process.env.DOCKERPULSE_BIN ?? `${process.env.HOME}/.cache/dockerpulse/target/debug/dockerpulse`;
const siteRoot = process.env.DOCKERPULSE_SITE_ROOT ?? "../target/site";
export const ENGINE_URL = "http://127.0.0.1:3101";
export const DEMO_URL = "http://127.0.0.1:3102";

// One data directory per run, the same in the runner and its workers (which inherit this).
process.env.DP_E2E_RUN ??= String(process.pid);
export const dataDir = (port: number) =>
  path.join(os.tmpdir(), `dockerpulse-e2e-${port}-${process.env.DP_E2E_RUN}`);

const server = (port: number, extra: string) => ({
  command: `${bin} serve --bind 127.0.0.1:${port} ${extra}`,
  url: `http://127.0.0.1:${port}/api/health`,
  reuseExistingServer: false,
  timeout: 60_000,
  stdout: "pipe" as const,
  stderr: "pipe" as const,
  env: {
    DOCKERPULSE_SITE_ROOT: siteRoot,
    DOCKERPULSE_DEMO_WHEN_NO_ENGINE: "false",
    // A fresh store and report directory per run.
    DOCKERPULSE_DATA_DIR: dataDir(port),
    DOCKERPULSE_REPORTS_DIR: path.join(dataDir(port), "reports"),
    RUST_LOG: "warn",
  },
});

export default defineConfig({
  testDir: "./tests",
  timeout: 120_000,
  expect: { timeout: 20_000 },
  fullyParallel: false,
  workers: 1,
  retries: 0,
  reporter: [["list"]],
  outputDir: "test-results",
  use: {
    trace: "retain-on-failure",
    screenshot: "only-on-failure",
    acceptDownloads: true,
    launchOptions: {
      executablePath: process.env.CHROMIUM ?? "/usr/bin/chromium",
      args: [
        "--no-sandbox",
        "--disable-gpu",
        "--disable-quic",
        "--no-first-run",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
      ],
    },
  },
  webServer: [server(3101, ""), server(3102, "--demo")],
});
