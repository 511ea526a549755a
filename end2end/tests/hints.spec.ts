import { test, expect } from "@playwright/test";
import { ENGINE_URL, engineAvailable, openLive, removeContainer, runContainer } from "./helpers";

// A container that fails with log lines meant to break a page: markup, a script, an event
// handler, terminal escape sequences, invalid UTF-8 and a mebibyte without a newline. Its
// probable cause is shown on its page and under its incident, every line as inert text.
const HOSTILE = String.raw`sleep 3
echo 'FATAL <script>window.__pwned = 1</script>' >&2
echo 'FATAL <img src=x onerror="window.__pwned = 2"> & "quotes"' >&2
printf '\033[31mFATAL\033[0m \033]0;pwned-title\007database is gone\n' >&2
printf 'FATAL bad bytes \377\376 here\n' >&2
printf 'FATAL '; yes AAAAAAAAAAAAAAAA | tr -d '\n' | head -c 1048576; echo
exit 1`;

test("a failed container's probable cause is shown, its hostile log lines inert", async ({ page }, testInfo) => {
  test.skip(!engineAvailable(), "no Docker engine");
  const dialogs: string[] = [];
  page.on("dialog", async (d) => {
    dialogs.push(d.message());
    await d.dismiss();
  });
  const name = runContainer("hostile", ["--network", "none"], ["sh", "-c", HOSTILE]);
  try {
    await openLive(page, `${ENGINE_URL}/containers/${name}`);
    const panel = page.getByTestId("probable-cause");
    await expect(panel.getByTestId("hint").first()).toBeVisible({ timeout: 60_000 });
    await expect(panel.getByTestId("hint").first()).toHaveAttribute("data-kind", "fatal");

    // Shown as text, exactly as written (less the escape sequences), never as markup.
    await expect(panel).toContainText("FATAL <script>window.__pwned = 1</script>");
    await expect(panel).toContainText('FATAL <img src=x onerror="window.__pwned = 2"> & "quotes"');
    await expect(panel).toContainText("FATAL database is gone");
    await expect(panel).toContainText("FATAL bad bytes \u{fffd}\u{fffd} here");
    await expect(panel).toContainText("…(cut)");
    expect(await panel.locator("script, img").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
    expect(dialogs).toEqual([]);
    const text = await panel.innerText();
    expect(text).not.toContain("\u001b");
    expect(text).not.toContain("pwned-title");
    // The mebibyte line arrives cut to the per-line cap (2 KiB by default).
    expect(text.length).toBeLessThan(32 * 1024);
    await panel.screenshot({ path: testInfo.outputPath("probable-cause.png") });

    // The same cause under the container's incident.
    await page.goto(`${ENGINE_URL}/incidents?container=${name}`);
    const cause = page.getByTestId("incident-cause").first();
    await expect(cause).toContainText("Probable cause", { timeout: 30_000 });
    await cause.locator("summary").click();
    await expect(cause).toContainText("FATAL <script>window.__pwned = 1</script>");
    expect(await cause.locator("script, img").count()).toBe(0);
    expect(await page.evaluate(() => (window as unknown as { __pwned?: number }).__pwned)).toBeUndefined();
  } finally {
    removeContainer(name);
  }
});
