/**
 * The exported HTML lesson opened in a real browser (Debian's Chromium via playwright-core),
 * offline: the plotly chart must be drawn from the embedded plotly.js.
 */
import { describe, expect, it } from "vitest";
import * as path from "path";
import { chromium } from "playwright-core";
import { runNotebooks } from "../scripts/run-lessons";
import { BUILD_DIR, listNotebooks, projectEnv } from "../scripts/lessons";

const OUT = path.join(BUILD_DIR, "test-browser");

describe("exported HTML in Chromium, offline", () => {
  it("draws the setup check's plotly chart as an SVG with data points", async (ctx) => {
    const executable = projectEnv().chromium;
    if (!executable) ctx.skip(); // setup could not install Chromium; it said so
    const [notebook] = listNotebooks(["00-setup-check"]);
    const run = await runNotebooks({ notebooks: [notebook], outDir: OUT, quiet: true, env: { LESSON4_MODE: "fast" } });
    expect(run.status, run.output).toBe(0);
    const browser = await chromium.launch({
      executablePath: executable!,
      args: ["--no-sandbox", "--disable-gpu", "--disable-quic", "--no-first-run", "--disable-background-networking", "--disable-component-update", "--disable-sync"],
    });
    try {
      const context = await browser.newContext();
      await context.setOffline(true);
      const requests: string[] = [];
      await context.route("**/*", (route) => {
        const url = route.request().url();
        if (url.startsWith("file:") || url.startsWith("data:")) return route.continue();
        requests.push(url);
        return route.abort();
      });
      const page = await context.newPage();
      await page.goto(`file://${path.join(OUT, "00-setup-check.html")}`);
      await page.waitForSelector(".lesson4-plot svg.main-svg", { timeout: 30_000 });
      const points = await page.locator(".lesson4-plot .scatterlayer path.point").count();
      const lines = await page.locator(".lesson4-plot .scatterlayer path.js-line").count();
      expect(points).toBe(11); // one marker per x in the first trace
      expect(lines).toBe(2);
      expect(await page.locator("table.dataframe tbody tr").count()).toBe(11);
      await page.screenshot({ path: path.join(OUT, "00-setup-check.png"), fullPage: true });
      expect(requests.filter((u) => /plotly/i.test(u))).toEqual([]); // plotly.js came from the page itself
    } finally {
      await browser.close();
    }
  }, 240_000);
});
