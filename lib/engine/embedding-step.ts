/**
 * The collaborative-filtering lesson's training step lives in lessons/embedding-step.ts, with the engine's other
 * lesson-shaped fast paths; this path stays importable for the code and notebooks that name it.
 */
export * from "./lessons/embedding-step";
