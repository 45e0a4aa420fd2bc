/**
 * Debian's Chromium driven by playwright-core for the browser tests: launched headless with its
 * background networking off, pages watched for console errors, failed loads and outside requests.
 */
import { chromium, type Browser, type BrowserContext, type Page } from "playwright-core";
import { projectEnv } from "../../scripts/lessons";

/** Chromium's switches for automated headless runs that must not reach the network by themselves. */
export const QUIET_CHROMIUM_ARGS = [
  "--no-sandbox",
  "--disable-gpu",
  "--no-first-run",
  "--no-default-browser-check",
  "--disable-background-networking",
  "--disable-component-update",
  "--disable-default-apps",
  "--disable-domain-reliability",
  "--disable-extensions",
  "--disable-sync",
  "--disable-quic",
  "--metrics-recording-only",
  "--disable-features=Translate,OptimizationHints,MediaRouter,DialMediaRouteProvider,AutofillServerCommunication,CertificateTransparencyComponentUpdater,InterestFeedContentSuggestions",
];

/** The Chromium that environment/setup.mjs found, or null (the tests then skip, as setup said why). */
export function chromiumPath(): string | null {
  return projectEnv().chromium;
}

export async function launchChromium(executablePath: string): Promise<Browser> {
  return chromium.launch({ executablePath, headless: true, args: QUIET_CHROMIUM_ARGS });
}

/** What a page did that a reader would notice: console errors, script errors, failed loads. */
export interface PageProblems {
  consoleErrors: string[];
  pageErrors: string[];
  failedRequests: string[];
  /** Requests to anywhere but the allowed origins (blocked). */
  outside: string[];
}

/**
 * A browser context that lets through only `data:`/`blob:` URLs and URLs under the given prefixes
 * (the site's folder as a file: URL, the local Jupyter server), blocking and recording the rest,
 * so a page that loads anything from a CDN or from system folders fails the test.
 */
export async function isolatedContext(
  browser: Browser,
  allowed: string[],
): Promise<{ context: BrowserContext; outside: string[] }> {
  const context = await browser.newContext({ viewport: { width: 1280, height: 900 } });
  const outside: string[] = [];
  await context.route("**/*", (route) => {
    const url = route.request().url();
    if (/^(data|blob):/.test(url) || allowed.some((prefix) => url.startsWith(prefix)))
      return route.continue();
    outside.push(url);
    return route.abort();
  });
  return { context, outside };
}

/** Starts recording a page's problems; read the returned object after the page has settled. */
export function watch(page: Page, outside: string[]): PageProblems {
  const problems: PageProblems = { consoleErrors: [], pageErrors: [], failedRequests: [], outside };
  page.on("console", (m) => {
    if (m.type() === "error")
      problems.consoleErrors.push(`${m.text()} (${m.location().url}:${m.location().lineNumber})`);
  });
  page.on("pageerror", (e) => problems.pageErrors.push(String(e)));
  page.on("requestfailed", (r) =>
    problems.failedRequests.push(`${r.url().slice(0, 200)}: ${r.failure()?.errorText}`),
  );
  return problems;
}
