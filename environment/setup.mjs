#!/usr/bin/env node
// One idempotent set-up step behind every npm script: npm packages, Jupyter (pip where it works,
// Debian packages where it does not), the project's kernelspec, and (with --with-tests) the test tools.
// Re-running it only checks; it writes build/env.json for the other scripts.
import { execFileSync, spawnSync } from "node:child_process";
import fs from "node:fs";
import path from "node:path";
import { fileURLToPath } from "node:url";

const root = path.resolve(path.dirname(fileURLToPath(import.meta.url)), "..");
const withTests = process.argv.includes("--with-tests");
const withBench = process.argv.includes("--with-bench");
const quiet = process.argv.includes("--quiet");
const log = (msg) => {
  if (!quiet) console.log(`[setup] ${msg}`);
};
const fail = (msg) => {
  console.error(`[setup] ${msg}`);
  process.exit(1);
};

function run(cmd, args, options = {}) {
  const result = spawnSync(cmd, args, {
    cwd: root,
    stdio: options.capture ? "pipe" : "inherit",
    encoding: "utf8",
    timeout: options.timeout,
    env: { ...process.env, ...(options.env ?? {}) },
  });
  return { ok: result.status === 0, out: `${result.stdout ?? ""}${result.stderr ?? ""}` };
}
const has = (cmd) => run("sh", ["-c", `command -v ${cmd}`], { capture: true }).ok;
const isRoot = typeof process.getuid === "function" && process.getuid() === 0;

// 1. Node and npm packages ------------------------------------------------------------------
const [major] = process.versions.node.split(".").map(Number);
if (major < 20) fail(`Node ${process.versions.node} is too old: install Node 20 or newer.`);
const lock = path.join(root, "package-lock.json");
const installed = path.join(root, "node_modules", ".package-lock.json");
const stale =
  !fs.existsSync(installed) ||
  fs.statSync(lock).mtimeMs > fs.statSync(installed).mtimeMs ||
  !fs.existsSync(path.join(root, "node_modules", "tslab"));
if (stale) {
  log("installing npm packages (npm ci) ...");
  if (!run("npm", ["ci", "--no-audit", "--no-fund"]).ok)
    fail("npm ci failed; see the messages above.");
}

// 2. Jupyter --------------------------------------------------------------------------------
const JUPYTER_CHECK = "import nbclient, nbconvert, nbformat, jupyter_client";
// Pinned: the browser tests drive JupyterLab's own page, which changes between releases.
// jupyterlab_widgets draws the lessons' widgets in JupyterLab (ipywidgets brings the classic
// Notebook's side and the protocol version the kernel's widgets speak: ipywidgets 8, 2.1.0).
const WIDGET_PACKAGES = ["ipywidgets==8.1.8", "jupyterlab_widgets==3.0.17"];
const JUPYTER_PACKAGES = [
  "jupyterlab==4.6.6",
  "notebook==7.6.5",
  "nbconvert==7.17.2",
  "nbclient==0.11.0",
  "jupyter_kernel_test==0.7.0",
  ...WIDGET_PACKAGES,
];
const venvPython = path.join(root, ".venv", "bin", "python");
function pythonWith(modules, candidates) {
  for (const python of candidates) {
    if (!python) continue;
    if (python.includes("/") && !fs.existsSync(python)) continue;
    if (run(python, ["-c", modules], { capture: true }).ok) return python;
  }
  return null;
}
// LESSON4_PYTHON, else the project's .venv (made below with pip); a system Jupyter (Debian's classic
// Notebook) only where PyPI cannot be reached, so JupyterLab is what learners get wherever pip works.
let python = pythonWith(JUPYTER_CHECK, [process.env.LESSON4_PYTHON, venvPython]);

function pipInstall(packages) {
  // A project-local virtual environment; pip fails fast where PyPI is unreachable.
  if (!fs.existsSync(venvPython)) {
    const base = pythonWith("import venv, ensurepip", ["python3", "/usr/bin/python3"]);
    if (!base || !run(base, ["-m", "venv", path.join(root, ".venv")], { capture: true }).ok)
      return false;
  }
  log(`pip install ${packages.join(" ")} (into .venv) ...`);
  return run(
    venvPython,
    [
      "-m",
      "pip",
      "install",
      "--disable-pip-version-check",
      "--retries",
      "0",
      "--timeout",
      "8",
      ...packages,
    ],
    { capture: true, timeout: 600_000 },
  ).ok;
}
let aptUpdated = false;
function aptInstall(packages) {
  if (!has("apt-get")) return false;
  const sudo = isRoot
    ? []
    : has("sudo") && run("sudo", ["-n", "true"], { capture: true }).ok
      ? ["sudo", "-n"]
      : null;
  if (!sudo) return false;
  const [cmd, ...pre] = sudo.length ? sudo : ["apt-get"];
  const args = sudo.length ? [...pre, "apt-get"] : [];
  log(`apt-get install ${packages.join(" ")} ...`);
  const env = { DEBIAN_FRONTEND: "noninteractive" };
  if (!aptUpdated) {
    run(cmd, [...args, "update", "-q"], { capture: true, env });
    aptUpdated = true;
  }
  return run(cmd, [...args, "install", "-y", "-q", "--no-install-recommends", ...packages], {
    capture: true,
    env,
  }).ok;
}

if (!python) {
  log("Jupyter (nbclient/nbconvert) not found in .venv; installing it ...");
  if (pipInstall(JUPYTER_PACKAGES)) python = venvPython;
  else python = pythonWith(JUPYTER_CHECK, ["python3", "/usr/bin/python3"]);
  if (python && python !== venvPython)
    log(`pip could not install JupyterLab; using the Jupyter of ${python}`);
  else if (
    !python &&
    aptInstall(["jupyter-notebook", "jupyter-nbconvert", "python3-nbclient", "python3-ipykernel"])
  )
    python = pythonWith(JUPYTER_CHECK, ["/usr/bin/python3"]);
  if (!python)
    fail(
      "Could not install Jupyter. Install it yourself, then re-run: `pip install jupyterlab nbconvert nbclient` " +
        "(or on Debian/Ubuntu: `sudo apt-get install jupyter-notebook jupyter-nbconvert python3-nbclient`), " +
        "or point LESSON4_PYTHON at a python that has them.",
    );
}
// A .venv made before the lessons had widgets: add them (a front end without them shows the
// widgets' text instead, so elsewhere this is only a note).
if (!run(python, ["-c", "import jupyterlab_widgets"], { capture: true }).ok) {
  if (!(python === venvPython && pipInstall(WIDGET_PACKAGES))) {
    log(
      "jupyterlab_widgets is not installed: JupyterLab will show the lessons' widgets as text (`pip install jupyterlab_widgets`).",
    );
  }
}
const frontEnd = run(python, ["-c", "import jupyterlab"], { capture: true }).ok
  ? "lab"
  : run(python, ["-c", "import notebook"], { capture: true }).ok
    ? "notebook"
    : null;

// The widgets' renderer for exported HTML pages: @jupyter-widgets/html-manager's standalone bundle,
// which the lessons' template embeds (environment/templates/lesson4). Only its dist/embed.js is needed,
// so `npm pack` fetches the package alone (its npm dependencies would add ~130 MB). Without it the
// pages show the widgets' text.
const HTML_MANAGER = "@jupyter-widgets/html-manager@1.0.15";
const widgetEmbed = path.join(root, "build", "vendor", "html-manager", "embed.js");
if (!fs.existsSync(widgetEmbed)) {
  fs.mkdirSync(path.join(root, "build"), { recursive: true });
  const tmp = fs.mkdtempSync(path.join(root, "build", ".html-manager-"));
  try {
    const packed = run("npm", ["pack", HTML_MANAGER, "--pack-destination", tmp, "--silent"], {
      capture: true,
    });
    const tarball = packed.ok ? fs.readdirSync(tmp).find((f) => f.endsWith(".tgz")) : undefined;
    if (tarball && run("tar", ["-xzf", path.join(tmp, tarball), "-C", tmp], { capture: true }).ok) {
      fs.mkdirSync(path.dirname(widgetEmbed), { recursive: true });
      fs.copyFileSync(path.join(tmp, "package", "dist", "embed.js"), `${widgetEmbed}.tmp`);
      fs.renameSync(`${widgetEmbed}.tmp`, widgetEmbed);
    } else
      log(`could not fetch ${HTML_MANAGER} (npm pack): exported pages will show widgets as text.`);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
}

// 3. The kernelspec: committed in environment/jupyter, found through JUPYTER_PATH -------------
const kernelDir = path.join(root, "environment", "jupyter", "kernels", "lesson4-ts");
if (!fs.existsSync(path.join(kernelDir, "kernel.json")))
  fail(`The kernelspec is missing: ${kernelDir}/kernel.json (restore it from git).`);

// 4. Test tools: Jupyter's kernel test suite and a browser ------------------------------------
// Found whether or not tests were asked for, so build/env.json never forgets an installed browser.
let chromium =
  ["/usr/bin/chromium", "/usr/bin/chromium-browser", "/usr/bin/google-chrome"].find((p) =>
    fs.existsSync(p),
  ) ?? null;
if (withTests) {
  const KTEST = "import jupyter_kernel_test";
  if (!run(python, ["-c", KTEST], { capture: true }).ok) {
    if (
      !(
        python === venvPython &&
        pipInstall(JUPYTER_PACKAGES.filter((p) => p.startsWith("jupyter_kernel_test")))
      )
    )
      aptInstall(["python3-jupyter-kernel-test"]);
  }
  if (!chromium && aptInstall(["chromium"]))
    chromium = fs.existsSync("/usr/bin/chromium") ? "/usr/bin/chromium" : null;
  if (!chromium)
    log(
      "no Chromium found: browser tests will be skipped (install Debian's `chromium`, or set LESSON4_CHROMIUM).",
    );
}

// 5. Benchmark peers (npm run bench): PyTorch, torchvision and pandas for the peer scripts -------
// What pip installs for them goes into .venv-bench, a virtual environment of the benchmarks' own,
// so the lessons' .venv never carries torch or TensorFlow (over 1 GB); nothing else uses it.
const benchVenv = path.join(root, ".venv-bench");
const benchPython = path.join(benchVenv, "bin", "python");
function benchPip(packages) {
  if (!fs.existsSync(benchPython)) {
    const base = pythonWith("import venv, ensurepip", ["python3", "/usr/bin/python3"]);
    if (!base || !run(base, ["-m", "venv", benchVenv], { capture: true }).ok) return false;
  }
  const names = packages.filter((p) => !p.startsWith("-") && !p.includes("://"));
  log(`pip install ${names.join(" ")} (into .venv-bench, for the benchmark peers) ...`);
  // The wheels are large: a longer timeout than the lessons' installs, and retries.
  const pip = run(
    benchPython,
    [
      "-m",
      "pip",
      "install",
      "--disable-pip-version-check",
      "--retries",
      "2",
      "--timeout",
      "30",
      ...packages,
    ],
    { capture: true, timeout: 1_800_000 },
  );
  if (!pip.ok)
    log(
      `pip could not install ${names.join(", ")} into .venv-bench: ${pip.out.trim().split("\n").pop()}`,
    );
  return pip.ok;
}
// Without --with-bench keep what an earlier run found (importing torch costs seconds).
const envFile = path.join(root, "build", "env.json");
let peerPython = fs.existsSync(envFile)
  ? (JSON.parse(fs.readFileSync(envFile, "utf8")).peerPython ?? null)
  : null;
if (withBench) {
  const PEER = "import torch, torchvision, pandas";
  const candidates = [
    process.env.LESSON4_PEER_PYTHON,
    venvPython,
    benchPython,
    "/usr/bin/python3",
    "python3",
  ].filter(Boolean);
  peerPython = pythonWith(PEER, candidates);
  if (!peerPython && aptInstall(["python3-torch", "python3-torchvision", "python3-pandas"]))
    peerPython = pythonWith(PEER, ["/usr/bin/python3"]);
  // The wheels go into the benchmark-only .venv-bench, never into the lessons' .venv.
  if (
    !peerPython &&
    benchPip([
      "torch",
      "torchvision",
      "--index-url",
      "https://download.pytorch.org/whl/cpu",
      "--extra-index-url",
      "https://pypi.org/simple",
      "pandas",
    ])
  )
    peerPython = pythonWith(PEER, [benchPython]);
  if (!peerPython)
    log(
      "no Python with torch, torchvision and pandas: benchmarks will skip their PyTorch peers (on Debian: `apt-get install python3-torch python3-torchvision python3-pandas`, or set LESSON4_PEER_PYTHON).",
    );
}

// 6. The Keras peer (npm run bench): tensorflow-cpu and keras, in .venv-bench as well.
let kerasPython = fs.existsSync(envFile)
  ? (JSON.parse(fs.readFileSync(envFile, "utf8")).kerasPython ?? null)
  : null;
if (withBench) {
  const KERAS = "import tensorflow, keras, numpy, pandas, PIL, scipy";
  kerasPython = pythonWith(KERAS, [process.env.LESSON4_KERAS_PYTHON, benchPython].filter(Boolean));
  if (!kerasPython && benchPip(["tensorflow-cpu", "keras", "pandas", "pillow", "scipy"])) {
    kerasPython = pythonWith(KERAS, [benchPython]);
  }
  if (!kerasPython) {
    log(
      "no Python with tensorflow and keras: benchmarks will skip their Keras peers (`pip install " +
        "tensorflow-cpu keras pandas pillow scipy` into a venv, and set LESSON4_KERAS_PYTHON).",
    );
  }
}

const env = {
  python,
  frontEnd,
  jupyterPath: path.join(root, "environment", "jupyter"),
  chromium: process.env.LESSON4_CHROMIUM ?? chromium,
  kernelTests: run(python, ["-c", "import jupyter_kernel_test"], { capture: true }).ok,
  peerPython: process.env.LESSON4_PEER_PYTHON ?? peerPython,
  kerasPython: process.env.LESSON4_KERAS_PYTHON ?? kerasPython,
};
fs.mkdirSync(path.join(root, "build"), { recursive: true });
fs.writeFileSync(`${envFile}.tmp`, JSON.stringify(env, null, 2));
fs.renameSync(`${envFile}.tmp`, envFile);
const benchReady = withBench
  ? `, peer python ${env.peerPython ?? "none"}, keras python ${env.kerasPython ?? "none"}`
  : "";
log(
  `ready: python ${python}, Jupyter front end ${frontEnd ?? "none (nbclient only)"}${withTests ? `, chromium ${env.chromium ?? "none"}` : ""}${benchReady}`,
);
