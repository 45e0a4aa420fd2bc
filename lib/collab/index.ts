/** The collaborative-filtering library: models, training with the lesson's schedule, and the bias baseline. */
export {
  fitCollab,
  layerRows,
  LESSON_SCHEDULE,
  LESSON_RECIPE,
  DEFAULTS,
  DOT_DEFAULTS,
} from "./fit";
export type {
  CollabOptions,
  CollabResult,
  EpochRecord,
  ScheduleStep,
  Recommendation,
  Predictions,
} from "./fit";
export { buildCollabModel, LAYERS, type CollabKind, type ModelSpec } from "./model";
export { fitBiasBaseline, type BiasBaseline } from "./baseline";
export { toColumns, idColumns, rmse, type RatingsInput, type RatingColumns } from "./data";
export { ActivityL2, activityL2 } from "./activity-l2";
export { CentredL2 } from "./centred-l2";
