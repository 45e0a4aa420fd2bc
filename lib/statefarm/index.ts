/** The State Farm part of the lesson in one import: reading, splitting, sampling and generating the data. */
export {
  readStateFarm,
  makeSample,
  splitByDriver,
  formatProblems,
  looksLikeCompleteJpeg,
  StateFarmError,
  type StateFarmData,
  type LabelledImage,
  type StateFarmProblems,
  type ReadOptions,
} from "./reader";
export { CLASSES, CLASS_DESCRIPTIONS } from "./classes";
export {
  generateStateFarm,
  renderPhoto,
  randomDriver,
  classPose,
  driverId,
  type GenerateOptions,
  type DriverLook,
} from "./generator";
export { extractZip } from "./zip";
export { ensureStateFarm, defaultGenerateOptions, type StateFarmSource } from "./ensure";
