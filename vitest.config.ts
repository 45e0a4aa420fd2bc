import { defineConfig } from "vitest/config";
import LongestFirst from "./test/support/sequencer";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Notebook and browser tests start kernels and Chromium: keep two files at a time on 2 cores.
    maxWorkers: 2,
    minWorkers: 1,
    env: { LESSON4_MODE: "fast" },
    // The long files first, so both workers stay busy to the end (test/support/sequencer.ts).
    sequence: { sequencer: LongestFirst },
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
