/** The ten State Farm behaviour classes, named as in the Kaggle competition. */

/** Folder names c0..c9, in label order. */
export const CLASSES = ["c0", "c1", "c2", "c3", "c4", "c5", "c6", "c7", "c8", "c9"] as const;

/** What each class means (from the competition's description). */
export const CLASS_DESCRIPTIONS: Record<string, string> = {
  c0: "safe driving",
  c1: "texting - right",
  c2: "talking on the phone - right",
  c3: "texting - left",
  c4: "talking on the phone - left",
  c5: "operating the radio",
  c6: "drinking",
  c7: "reaching behind",
  c8: "hair and makeup",
  c9: "talking to passenger",
};
