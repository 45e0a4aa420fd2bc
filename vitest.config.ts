import { defineConfig } from "vitest/config";

export default defineConfig({
  test: {
    include: ["test/**/*.test.ts"],
    testTimeout: 120_000,
    hookTimeout: 600_000,
    // Notebook and browser tests start kernels and Chromium: keep two files at a time on 2 cores.
    maxWorkers: 2,
    minWorkers: 1,
    env: { LESSON4_MODE: "fast" },
    reporters: ["default", "./test/support/summary-reporter.ts"],
  },
});
