#!/usr/bin/env node
// Starts this checkout's tslab kernel with the project's small additions (see kernel/README.md).
"use strict";
const path = require("path");
const ts = require("@tslab/typescript-for-tslab");

// Notebooks import the shared lib through the `notebooks/lib` symlink. tslab compiles every
// imported file with rootDir = the notebook folder, so the compiler must keep the symlinked
// path instead of resolving it to `../lib` (which would be outside rootDir).
const Module = require("module");
const patchedTs = new Proxy(ts, {
  get(target, key) {
    if (key !== "createWatchCompilerHost") return target[key];
    return (rootFiles, options, ...rest) =>
      target.createWatchCompilerHost(rootFiles, { ...options, preserveSymlinks: true }, ...rest);
  },
});
const originalLoad = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "@tslab/typescript-for-tslab" && parent && /tslab[\\/]dist/.test(parent.filename)) {
    return patchedTs;
  }
  return originalLoad.call(this, request, parent, isMain);
};

const connectionFile = process.argv[2];
if (!connectionFile) {
  console.error("usage: launch.cjs CONNECTION_FILE");
  process.exit(2);
}
require("tslab/dist/main.js").startKernel({ configPath: connectionFile, enableFindLocal: false });
