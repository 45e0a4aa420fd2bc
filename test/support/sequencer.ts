/**
 * The order vitest's two workers take the test files in: the longest first (longest-processing-
 * time-first), so the two finish close together. Without a results cache (a fresh clone, CI)
 * vitest starts larger files first, and the notebook suites are tiny files that run for minutes,
 * so they ran last and CI waited on one worker. The list holds the files that take a minute or
 * more (seconds measured in CI, 2026-12); the rest keep vitest's order after them.
 */
import * as path from "path";
import { BaseSequencer, type TestSpecification } from "vitest/node";

const LONGEST_FIRST = [
  "browser-ui", // ~400 s
  "notebooks-statefarm", // ~390 s
  "notebooks-excel", // ~260 s
  "notebooks-collab", // ~150 s
  "statefarm-lesson", // ~145 s
  "kernel", // ~125 s
  "site", // ~110 s
  "statefarm-kaggle-notebooks", // ~90 s
  "notebooks", // ~55 s
];

function rank(spec: TestSpecification): number {
  const index = LONGEST_FIRST.indexOf(path.basename(spec.moduleId, ".test.ts"));
  return index < 0 ? LONGEST_FIRST.length : index;
}

export default class LongestFirst extends BaseSequencer {
  async sort(files: TestSpecification[]): Promise<TestSpecification[]> {
    const byVitest = await super.sort(files);
    return [...byVitest].sort((a, b) => rank(a) - rank(b)); // stable: the rest keep vitest's order
  }
}
