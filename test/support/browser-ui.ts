/**
 * How the browser UI test works a Jupyter front end: one driver for JupyterLab and one for the
 * classic Notebook, each using the menus, toolbar and keyboard a person would.
 */
import * as path from "path";
import type { Locator, Page } from "playwright-core";

export interface FrontEndDriver {
  name: "lab" | "notebook";
  /** The address that opens `file` (relative to the server's folder). */
  notebookUrl(baseUrl: string, file: string, token: string): string;
  /** Waits until the notebook is shown and its kernel is connected and idle. */
  waitForKernel(page: Page, timeoutMs?: number): Promise<void>;
  /** The kernel's display name as the front end shows it. */
  kernelName(page: Page): Promise<string>;
  runAll(page: Page): Promise<void>;
  /** Restarts the kernel from the Kernel menu and waits until the new kernel is idle. */
  restartKernel(page: Page): Promise<void>;
  clearAllOutputs(page: Page): Promise<void>;
  /** Saves and exports the notebook as HTML from the File menu; resolves to the saved file in `dir`. */
  exportHtml(page: Page, dir: string): Promise<string>;
  interrupt(page: Page): Promise<void>;
  /** Selects code cell `index` (0-based among code cells) and runs it with Shift+Enter. */
  runCell(page: Page, index: number): Promise<void>;
  /** Resolves once every code cell has an execution number, none is running, and the kernel is idle. */
  waitUntilAllRan(page: Page, timeoutMs: number): Promise<void>;
  /** Resolves once code cell `index` has finished (a number in its prompt) and the kernel is idle. */
  waitUntilCellRan(page: Page, index: number, timeoutMs: number): Promise<void>;
  isBusy(page: Page): Promise<boolean>;
  codeCells(page: Page): Locator;
  /** The output area of code cell `index`. */
  outputs(page: Page, index: number): Locator;
  /** Error outputs (a cell that threw). */
  errorOutputs(page: Page): Locator;
  /** Printed text and text results, in order (for comparing runs). */
  textOutputs(page: Page): Locator;
}

/** Shared: execution prompts read as "[n]", "[*]" or "[ ]". */
async function prompts(page: Page, selector: string): Promise<string[]> {
  return page.locator(selector).allInnerTexts();
}

function allNumbered(texts: string[]): boolean {
  return texts.length > 0 && texts.every((t) => /\[\d+\]/.test(t));
}

async function poll(what: string, timeoutMs: number, check: () => Promise<boolean>): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    if (await check()) return;
    if (Date.now() > deadline)
      throw new Error(`timed out after ${timeoutMs / 1000} s waiting for ${what}`);
    await new Promise((r) => setTimeout(r, 250));
  }
}

/**
 * The file a menu action makes the page download (JupyterLab 4 answers its export in the page
 * itself, an attachment from the server), saved into `dir`.
 */
async function downloadFrom(page: Page, start: () => Promise<void>, dir: string): Promise<string> {
  const download = page.waitForEvent("download", { timeout: 120_000 });
  await start();
  const file = await download;
  const saved = path.join(dir, file.suggestedFilename());
  await file.saveAs(saved);
  return saved;
}

/** The classic Notebook (6.x): menus #celllink/#kernellink, prompts "In [n]:", kernel icon classes. */
export const classicNotebook: FrontEndDriver = {
  name: "notebook",
  notebookUrl: (base, file, token) => `${base}notebooks/${encodeURI(file)}?token=${token}`,
  async waitForKernel(page, timeoutMs = 60_000) {
    await page.locator("#notebook-container .cell").first().waitFor({ timeout: timeoutMs });
    // The idle icon is also shown before a kernel is connected: wait for the kernel's info reply.
    await page.waitForFunction(
      () => {
        const kernel = (
          window as unknown as {
            Jupyter?: {
              notebook?: { kernel?: { is_connected(): boolean; info_reply?: { status?: string } } };
            };
          }
        ).Jupyter?.notebook?.kernel;
        return Boolean(kernel?.is_connected() && kernel.info_reply?.status);
      },
      undefined,
      { timeout: timeoutMs, polling: 250 },
    );
    await page
      .locator("#kernel_indicator_icon.kernel_idle_icon")
      .waitFor({ state: "attached", timeout: timeoutMs });
  },
  kernelName: async (page) => (await page.locator(".kernel_indicator_name").innerText()).trim(),
  async runAll(page) {
    await page.click("#celllink");
    await page.click("#run_all_cells");
  },
  async restartKernel(page) {
    await page.click("#kernellink");
    await page.click("#restart_kernel");
    await page.locator(".modal-dialog button.btn-danger").click(); // "Restart"
    await page.locator(".modal-dialog").waitFor({ state: "detached" });
    await this.waitForKernel(page);
  },
  async clearAllOutputs(page) {
    await page.click("#celllink");
    await page.hover("#all_outputs");
    await page.click("#clear_all_output");
  },
  async exportHtml() {
    // The tests export from JupyterLab, the front end set-up installs wherever pip works.
    throw new Error("exporting from the classic Notebook's menu is not driven by these tests");
  },
  async interrupt(page) {
    await page.click("#kernellink");
    await page.click("#int_kernel");
  },
  async runCell(page, index) {
    await this.codeCells(page).nth(index).locator(".input_prompt").click(); // selects the cell (command mode)
    await page.keyboard.press("Shift+Enter");
  },
  async waitUntilAllRan(page, timeoutMs) {
    let seen: string[] = [];
    await poll(
      "every cell to run",
      timeoutMs,
      async () =>
        allNumbered((seen = await prompts(page, ".code_cell .input_prompt"))) &&
        !(await this.isBusy(page)),
    ).catch((e: Error) => {
      throw new Error(`${e.message}; prompts: ${seen.join(" ")}`);
    });
  },
  async waitUntilCellRan(page, index, timeoutMs) {
    await poll(
      `cell ${index} to finish`,
      timeoutMs,
      async () =>
        allNumbered([await this.codeCells(page).nth(index).locator(".input_prompt").innerText()]) &&
        !(await this.isBusy(page)),
    );
  },
  isBusy: async (page) =>
    (await page.locator("#kernel_indicator_icon.kernel_idle_icon").count()) === 0,
  codeCells: (page) => page.locator("#notebook-container .code_cell"),
  outputs(page, index) {
    return this.codeCells(page).nth(index).locator(".output_area");
  },
  errorOutputs: (page) => page.locator(".output_subarea.output_error"),
  textOutputs: (page) =>
    page.locator(
      ".output_subarea.output_stream, .output_subarea.output_text, .output_subarea table.dataframe",
    ),
};

/** The notebook on show: JupyterLab keeps other tabs' notebooks in the page, hidden. */
function panel(page: Page): Locator {
  return page.locator(".jp-NotebookPanel:not(.lm-mod-hidden)");
}

/** What a timed-out wait saw: the kernel's name and the execution indicator's status. */
async function labStatus(page: Page): Promise<string> {
  const indicator = panel(page).locator(".jp-Notebook-ExecutionIndicator").first();
  const status = await indicator.getAttribute("data-status", { timeout: 1000 }).catch(() => "?");
  const kernel = await panel(page)
    .locator(".jp-KernelName, .jp-Toolbar-kernelName")
    .first()
    .innerText({ timeout: 1000 })
    .catch(() => "?");
  return `kernel "${kernel.trim()}", indicator "${status}"`;
}

/** JupyterLab (4.x): commands by data-command, prompts "[n]:", the execution indicator's status. */
export const jupyterLab: FrontEndDriver = {
  name: "lab",
  // A workspace of its own per page: JupyterLab restores a workspace's open tabs, and a notebook
  // left open by an earlier test would sit (hidden) beside this one.
  notebookUrl: (base, file, token) =>
    `${base}lab/workspaces/t${Date.now().toString(36)}${Math.random().toString(36).slice(2, 6)}/tree/${encodeURI(file)}?reset&token=${token}`,
  async waitForKernel(page, timeoutMs = 90_000) {
    await panel(page).locator(".jp-Notebook .jp-Cell").first().waitFor({ timeout: timeoutMs });
    // The indicator reads "idle" before any kernel is attached ("No Kernel" in the toolbar), and
    // the first page of a fresh server can take seconds to start one: wait for a named kernel.
    const name = panel(page)
      .locator(
        ".jp-NotebookPanel-toolbar .jp-KernelName, .jp-NotebookPanel-toolbar .jp-Toolbar-kernelName",
      )
      .first();
    await poll(
      "a kernel to be attached",
      timeoutMs,
      async () => !/^(No Kernel|Kernel)?$/i.test((await name.innerText().catch(() => "")).trim()),
    );
    await panel(page)
      .locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]')
      .first()
      .waitFor({ state: "attached", timeout: timeoutMs });
  },
  kernelName: async (page) =>
    (
      await panel(page).locator(".jp-KernelName, .jp-Toolbar-kernelName").first().innerText()
    ).trim(),
  async runAll(page) {
    await page.locator("#jp-MainMenu").getByText("Run", { exact: true }).click();
    await page.locator(".lm-Menu").getByText("Run All Cells", { exact: true }).click();
  },
  async restartKernel(page) {
    await page.locator("#jp-MainMenu").getByText("Kernel", { exact: true }).click();
    await page.locator(".lm-Menu").getByText("Restart Kernel…", { exact: true }).click();
    await page.locator(".jp-Dialog .jp-mod-accept").click();
    await page.locator(".jp-Dialog").waitFor({ state: "detached" });
    // The indicator passes through "restarting"; idle for a second in a row is the new kernel's.
    let idleSince = 0;
    await poll("the restarted kernel to be idle", 90_000, async () => {
      idleSince = (await this.isBusy(page)) ? 0 : idleSince || Date.now();
      return idleSince > 0 && Date.now() - idleSince > 1000;
    });
  },
  async clearAllOutputs(page) {
    await page.locator("#jp-MainMenu").getByText("Edit", { exact: true }).click();
    await page.locator(".lm-Menu").getByText("Clear Outputs of All Cells", { exact: true }).click();
  },
  exportHtml: (page, dir) =>
    downloadFrom(
      page,
      async () => {
        await page.locator("#jp-MainMenu").getByText("File", { exact: true }).click();
        await page
          .locator(".lm-Menu")
          .getByText("Save and Export Notebook As", { exact: true })
          .click();
        await page.locator(".lm-Menu").getByText("HTML", { exact: true }).click();
        // Lab asks whether to sanitize the HTML: that strips the charts' scripts, so a learner who
        // wants the charts in the page unticks it (the README says so).
        await page.locator(".jp-Dialog").getByText("Sanitize HTML output").waitFor();
        await page.locator(".jp-Dialog input[type=checkbox]").uncheck();
        await page.locator(".jp-Dialog .jp-mod-accept").click();
      },
      dir,
    ),
  async interrupt(page) {
    await panel(page)
      .locator('.jp-NotebookPanel-toolbar [data-command="notebook:interrupt-kernel"]')
      .click();
  },
  async runCell(page, index) {
    // Into the cell's editor, as a person clicks; Shift+Enter runs it from edit mode too.
    await this.codeCells(page).nth(index).locator(".jp-InputArea-editor").click();
    await page.keyboard.press("Shift+Enter");
  },
  async waitUntilAllRan(page, timeoutMs) {
    let seen: string[] = [];
    const ran = async () => {
      seen = await panel(page).locator(".jp-CodeCell .jp-InputPrompt").allInnerTexts();
      return allNumbered(seen) && !(await this.isBusy(page));
    };
    await poll("every cell to run", timeoutMs, ran).catch(async (e: Error) => {
      const status = await labStatus(page);
      throw new Error(`${e.message}; prompts: ${seen.map((t) => t.trim()).join(" ")}; ${status}`);
    });
  },
  async waitUntilCellRan(page, index, timeoutMs) {
    await poll(
      `cell ${index} to finish`,
      timeoutMs,
      async () =>
        allNumbered([
          await this.codeCells(page).nth(index).locator(".jp-InputPrompt").innerText(),
        ]) && !(await this.isBusy(page)),
    );
  },
  isBusy: async (page) =>
    (await panel(page).locator('.jp-Notebook-ExecutionIndicator[data-status="idle"]').count()) ===
    0,
  codeCells: (page) => panel(page).locator(".jp-Notebook .jp-CodeCell"),
  outputs(page, index) {
    return this.codeCells(page).nth(index).locator(".jp-OutputArea");
  },
  errorOutputs: (page) =>
    panel(page).locator(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stderr"]:has(pre .ansi-red-fg), .jp-OutputArea-output.jp-mod-error',
    ),
  textOutputs: (page) =>
    panel(page).locator(
      '.jp-OutputArea-output[data-mime-type="application/vnd.jupyter.stdout"], .jp-OutputArea-output[data-mime-type="text/plain"], .jp-OutputArea-output table.dataframe',
    ),
};

export function driverFor(frontEnd: "lab" | "notebook"): FrontEndDriver {
  return frontEnd === "lab" ? jupyterLab : classicNotebook;
}
