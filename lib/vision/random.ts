/** The seeded random numbers, kept importable from here for the notebooks and code that use this path. */
export { Rng, hashString } from "../random";
