/** Images to tensors, augmentation, pretrained features and .npy arrays in one import. */
export {
  decodeImage,
  loadImages,
  imageBatches,
  imageDataset,
  oneHot,
  type LoadOptions,
  type BatchOptions,
  type Batch,
  type PixelScale,
} from "./images";
export {
  ImageDataGenerator,
  applyTransforms,
  transformMatrix,
  IDENTITY,
  type AugmentOptions,
  type TransformParams,
} from "./augment";
export { saveArray, loadArray, NpyWriter, readNpyHeader } from "./npy";
export {
  loadMobileNet,
  precomputeFeatures,
  featureKey,
  fileIOHandler,
  MOBILENET_URL,
  MOBILENET_SOURCE,
  FEATURE_LAYER,
  type FeatureModel,
  type FeatureOptions,
  type Features,
} from "./pretrained";
export { Rng, hashString } from "./random";
