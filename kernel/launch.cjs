#!/usr/bin/env node
// The project's Jupyter kernel: tslab 1.0.22's converter, executor and ZeroMQ server, with a thin
// layer on top (documented in kernel/README.md):
//  - notebooks import the shared lib through the `notebooks/lib` symlink (preserveSymlinks);
//  - a cell's last value comes back as an execute_result with rich MIME types (lib/display/rich.ts);
//  - errors come back as Jupyter error messages (ename, evalue, traceback) instead of stderr text,
//    with stack positions mapped back to the TypeScript of the cell (kernel/sourcemap.cjs);
//  - interrupt stops awaited work too: model.fit, tf.nextFrame loops, lib loops (kernel/interrupt.cjs);
//  - kernel_info_reply carries the `status` field the protocol requires;
//  - history_request, comms (comm_info/open/msg/close) and input from the user (stdin channel)
//    are handled (kernel/history.cjs, comms.cjs, stdin.cjs), is_complete tells invalid code
//    (kernel/complete.cjs).
"use strict";
Error.stackTraceLimit = 50; // enough frames to reach the cell from deep inside tfjs
const path = require("path");
const vm = require("vm");
const Module = require("module");
const ts = require("@tslab/typescript-for-tslab");
const sourcemap = require("./sourcemap.cjs");
const { expandShorthand } = require("./shorthand.cjs");
const interrupts = require("./interrupt.cjs");

// 1. preserveSymlinks: tslab compiles imports with rootDir = the notebook folder.
// 2. Source maps: the TypeScript compilation inlines one, tslab's CommonJS step (transpileModule
//    of "custom.js") gets one too; sourcemap.cjs keeps both.
const patchedTs = new Proxy(ts, {
  get(target, key) {
    if (key === "createWatchCompilerHost") {
      return (rootFiles, options, ...rest) =>
        target.createWatchCompilerHost(
          rootFiles,
          { ...options, preserveSymlinks: true, inlineSourceMap: true },
          ...rest,
        );
    }
    if (key === "transpileModule") {
      return (input, options) =>
        options && options.fileName === "custom.js"
          ? sourcemap.transpileWithMaps(target.transpileModule, input, options)
          : target.transpileModule(input, options);
    }
    return target[key];
  },
});
const originalLoad = Module._load;
Module._load = function (request, parent, isMain) {
  if (request === "@tslab/typescript-for-tslab" && parent && /tslab[\\/]dist/.test(parent.filename))
    return patchedTs;
  const exports = originalLoad.call(this, request, parent, isMain);
  interrupts.onModuleLoaded(request, exports);
  return exports;
};

// 3. Each cell's script gets a name of its own ("cell[n]") so stack frames say which cell.
const CELL_PREFIX = /^\((?:async )?function\(exports, require\) \{ /;
let scriptName = null;
const originalRunInThisContext = vm.runInThisContext;
vm.runInThisContext = function (code, options) {
  const prefix = typeof code === "string" && scriptName ? CELL_PREFIX.exec(code) : null;
  if (!prefix) return originalRunInThisContext.call(this, code, options);
  sourcemap.setScript(scriptName, prefix[0].length, code);
  return originalRunInThisContext.call(this, code, { ...(options || {}), filename: scriptName });
};

// 4. Only the kernel decides what an uncaught error does: the wasm backend (emscripten) adds
//    listeners that rethrow, which would end the kernel at the first error thrown in a timer.
const kernelOnly = {
  events: new Set(["uncaughtException", "unhandledRejection"]),
  listeners: new Set(),
};
for (const method of ["on", "addListener", "prependListener", "once", "prependOnceListener"]) {
  const original = process[method];
  process[method] = function (event, listener) {
    if (kernelOnly.events.has(event) && !kernelOnly.listeners.has(listener)) return this;
    return original.call(this, event, listener);
  };
}

const { createConverter } = require("tslab/dist/converter");
const { createExecutor } = require("tslab/dist/executor");
const { getCodeMetadata } = require("tslab/dist/metadata");
const { ZmqServer, JupyterHandlerImpl } = require("tslab/dist/jupyter");
const { describeError, describeDiagnostics } = require("./errors.cjs");
const { Outbox, framesOf } = require("./outbox.cjs");
const protocol = require("./protocol.cjs");
const { History } = require("./history.cjs");
const { installComms } = require("./comms.cjs");
const { installStdin } = require("./stdin.cjs");
const { installOutput } = require("./output.cjs");
const { isComplete } = require("./complete.cjs");

let richBundle = null;
/**
 * lib/display/rich.ts, loaded on first use with tsx's require hook for .ts files, so that its
 * packages (@tensorflow/tfjs, danfo) are the very instances the notebook's code uses.
 */
function loadRich() {
  if (!richBundle) {
    require("tsx/cjs/api").register();
    richBundle = require(path.join(__dirname, "..", "lib", "display", "rich.ts")).richBundle;
  }
  return richBundle;
}

// State of the cell being executed, filled by the hooks below.
const cell = { lastVar: null, error: null, diagnostics: [], count: 0, code: "" };
/** The cells this session ran, for history_request. */
const history = new History();

function startKernel(connectionFile) {
  const node = createConverter({ isJS: false, isBrowser: false });
  const convert = node.convert;
  // Compile first, then run: a cell's first import of lib compiles all of lib (seconds), and a SIGINT
  // that arrives meanwhile would be lost, because vm's breakOnSigint detaches the SIGINT listeners
  // when tslab starts the script, closing the signal handle with the signal still queued. So the
  // kernel compiles the cell itself, lets the event loop deliver any interrupt, and only then hands
  // the cell to tslab, whose convert call gets the compiled result.
  let prevDecl = ""; // the declarations tslab will compile the next cell against (mirrors its rule)
  let compiled = null; // { prevDecl, src, converted } waiting for tslab's convert call
  let lastConverted = null; // the conversion tslab's execute used
  const nextLoopTurn = () => new Promise((resolve) => setImmediate(resolve));
  async function interruptedWhileCompiling(src) {
    const meta = getCodeMetadata(src);
    if (meta.module || meta.mode === "browser") return false; // tslab does not compile these as cells
    compiled = { prevDecl, src, converted: node.convert(prevDecl, src) };
    // Two turns: the first ends this loop iteration, the second comes after a poll phase, which
    // reads the signal pipe (and so runs the SIGINT listener) before the check phase.
    await nextLoopTurn();
    await nextLoopTurn();
    if (!interrupts.isInterrupted()) return false;
    compiled = null;
    return true;
  }
  node.convert = (prevDecl, src) => {
    if (compiled && compiled.prevDecl === prevDecl && compiled.src === src) {
      const ready = compiled.converted;
      compiled = null;
      return (lastConverted = ready);
    }
    compiled = null;
    const expanded = expandShorthand(src);
    const converted = convert.call(node, prevDecl, expanded.code);
    sourcemap.claim(converted, {
      name: `cell[${cell.count}]`,
      count: cell.count,
      code: src,
      originalColumn: expanded.originalColumn,
    });
    for (const d of converted.diagnostics || []) {
      if (!d.fileName && d.start)
        d.start = {
          ...d.start,
          character: expanded.originalColumn(d.start.line, d.start.character),
        };
    }
    // Take the last expression away from tslab (which would console.log it) and return it ourselves.
    cell.lastVar = converted.lastExpressionVar || null;
    if (converted.diagnostics && converted.diagnostics.length)
      cell.diagnostics = converted.diagnostics;
    return (lastConverted = { ...converted, lastExpressionVar: undefined });
  };
  const convs = {
    node,
    get browser() {
      return createConverter({ isJS: false, isBrowser: true });
    },
    close: () => node.close(),
  };
  const executorConsole = {
    log: (...args) => console.log(...args),
    error: (...args) => {
      if (
        args[0] instanceof Error ||
        (args[0] && typeof args[0] === "object" && "stack" in args[0])
      )
        cell.error = args[0];
      else if (typeof args[0] === "string" && args[0].startsWith("%s%d:%d - "))
        return; // diagnostics: reported as an error message
      else if (args.length === 1 && !(typeof args[0] === "string")) cell.error = args[0];
      else console.error(...args);
    },
  };
  const executor = createExecutor(process.cwd(), convs, executorConsole);
  const handler = new LessonHandler(executor);
  const execute = executor.execute;
  // Every execution runs as its own "run" (interrupt.cjs), its script named after its count.
  executor.execute = (src) => {
    cell.count = handler.execCount;
    scriptName = `cell[${cell.count}]`;
    // History keeps what the user ran, as IPython does: not silent nor store_history false cells.
    const request = protocol.ownRequest();
    const options = (request && request.content) || {};
    if (!options.silent && options.store_history !== false) history.add(cell.count, src);
    return interrupts
      .runCell(cell.count, async () => {
        lastConverted = null;
        if (await interruptedWhileCompiling(src)) {
          cell.error = new interrupts.KeyboardInterrupt(
            "interrupted while the cell was being compiled; none of it ran",
          );
          return false;
        }
        const ok = await execute(src);
        if (ok && lastConverted) prevDecl = lastConverted.declOutput || ""; // tslab's own rule
        return ok;
      })
      .finally(() => (scriptName = null));
  };
  const server = new LessonServer(handler, connectionFile);
  process.on("SIGINT", () => {
    // A cell waiting for the user's input ends at once.
    const stopped = new interrupts.KeyboardInterrupt("interrupted while waiting for input");
    server.userInput.cancel(stopped);
    // Synchronous code was already stopped by tslab (breakOnSigint). Awaited work: stop it and
    // give it a moment to end with its own KeyboardInterrupt; then abandon it as tslab does.
    interrupts.interruptCurrent(3000).then(() => executor.interrupt());
  });
  // Errors outside any awaited chain (a throwing timer, a promise nobody awaits): shown on stderr
  // of the latest cell, with TypeScript positions, and the kernel goes on.
  const report = (what) => (error) => {
    if (error && error.name === "KeyboardInterrupt") return; // work of an interrupted cell, ending
    console.error(
      `${what}:\n${describeError(error, sourcemap.originalPosition).traceback.join("\n")}`,
    );
  };
  const onUncaught = report("Uncaught exception");
  const onUnhandled = report("Unhandled promise rejection");
  kernelOnly.listeners.add(onUncaught).add(onUnhandled);
  process.on("uncaughtException", onUncaught);
  process.on("unhandledRejection", onUnhandled);
  server.init();
}

class LessonHandler extends JupyterHandlerImpl {
  /**
   * Completions replace the whole dotted expression before the cursor, as IPython's do:
   * for "Math.fl" the matches are "Math.floor", ... with cursor_start at "M".
   */
  handleComplete(req) {
    const reply = super.handleComplete(req);
    let start = reply.cursor_start;
    while (start > 0 && /[\w$.]/.test(req.code[start - 1])) start--;
    const prefix = req.code.slice(start, reply.cursor_start);
    if (prefix) {
      reply.matches = reply.matches.map((m) => prefix + m);
      reply.cursor_start = start;
    }
    return reply;
  }

  /**
   * Inspecting where no name is under the cursor, inside a call's parentheses (`fitCollab(` then
   * Shift-Tab), shows the called function, as IPython does; tslab found nothing there.
   */
  handleInspect(req) {
    const reply = super.handleInspect(req);
    if (reply.found) return reply;
    const callee = calleeEnd(String(req.code || ""), req.cursor_pos);
    return callee == null ? reply : super.handleInspect({ ...req, cursor_pos: callee });
  }

  /**
   * Output printed by a comm handler run for a front end's message goes out with that message as
   * its parent (as ipykernel does), not into whichever cell ran last.
   */
  createWriteToIopub(name, writeStream) {
    const write = super.createWriteToIopub(name, writeStream);
    return (buffer, encoding) => {
      const request = protocol.ownRequest();
      const fromComm = request && /^comm_/.test(request.header.msg_type) && this.writeFor;
      if (!fromComm) return write(buffer, encoding);
      const text = typeof buffer === "string" ? buffer : Buffer.from(buffer).toString("utf8");
      this.writeFor(request, name, text);
      return true;
    };
  }

  /** From the TypeScript parser's syntax errors: complete, incomplete (with an indent), invalid. */
  handleIsComplete(req) {
    return isComplete(String(req.code || ""));
  }

  handleKernel() {
    const reply = super.handleKernel();
    reply.status = "ok";
    reply.implementation = "lesson4-ts (tslab)";
    return reply;
  }
}

/**
 * Where the name of the call whose parentheses enclose `cursor` ends (`f(a, |` → after `f`), or
 * null. A plain scan of brackets: good enough for the cursor of an inspect request.
 */
function calleeEnd(code, cursor) {
  let depth = 0;
  for (let i = Math.min(Number(cursor) || 0, code.length) - 1; i >= 0; i--) {
    const ch = code[i];
    if (ch === ")" || ch === "]" || ch === "}") depth++;
    else if (ch === "[" || ch === "{") depth = Math.max(0, depth - 1);
    else if (ch === "(" && depth > 0) depth--;
    else if (ch === "(") {
      let end = i;
      while (end > 0 && /[ \t]/.test(code[end - 1])) end--;
      return end > 0 && /[\w$]/.test(code[end - 1]) ? end : null;
    }
  }
  return null;
}

/**
 * Every send of a socket goes through an Outbox (kernel/outbox.cjs): one at a time, in order. tslab
 * assigns its sockets in init(); these setters wrap each as it is created.
 */
function queuedSocket(socket, name) {
  // tslab starts reading its sockets before it binds them, and binds all five at once. On a busy
  // machine a message can arrive on a socket whose bind has not finished, and zeromq rejects the
  // next receive or send on it ("Socket is blocked by a bind or unbind operation"): tslab's read
  // loop for that socket ended and the kernel never answered. Receives and sends wait for the bind.
  // (Checked right before each call: an await in between would let a bind start unseen.)
  let binding = null;
  const bind = (address) => {
    const done = socket.bind(address).finally(() => {
      if (binding === settled) binding = null;
    });
    const settled = done.catch(() => {});
    binding = settled;
    return done;
  };
  const receiving = () => {
    const messages = socket[Symbol.asyncIterator]();
    const next = () => (binding ? binding.then(next) : messages.next());
    return {
      next,
      [Symbol.asyncIterator]() {
        return this;
      },
    };
  };
  const send = (frames) => (binding ? binding.then(() => send(frames)) : socket.send(frames));
  const report = (error) =>
    require("fs").writeSync(
      2,
      `lesson4-ts kernel: a ${name} message was not sent: ${error && error.message}\n`,
    );
  const outbox = new Outbox({ send }, report);
  const queued = (frames) => {
    outbox.sendFrames(frames);
    return Promise.resolve();
  };
  // A publisher drops messages past its high-water mark (1000 by default): keep them all; the
  // outbox merges floods of output, so the queue stays short.
  if (name === "iopub") socket.sendHighWaterMark = 0;
  // zeromq's sockets are not extensible and their `send` is read-only: a proxy stands in.
  return new Proxy(socket, {
    get(target, key) {
      if (key === "send") return queued;
      if (key === "outbox") return outbox;
      if (key === "bind") return bind;
      if (key === Symbol.asyncIterator) return receiving;
      const value = Reflect.get(target, key, target);
      return typeof value === "function" ? value.bind(target) : value;
    },
    set: (target, key, value) => Reflect.set(target, key, value, target),
  });
}

let executions = 0;

/** Shell messages the layer answers itself; tslab handles the others. */
const OWN_MESSAGES = new Set([
  "history_request",
  "comm_info_request",
  "comm_open",
  "comm_msg",
  "comm_close",
]);

class LessonServer extends ZmqServer {
  constructor(handler, connectionFile) {
    super(handler, connectionFile);
    handler.writeFor = (request, name, text) => {
      const key = this.connInfo.key;
      const build = (c) => protocol.framesFor(key, request, "stream", c).frames;
      const mergeKey = `stream:${request.header.msg_id}:${name}`;
      this.iopub.outbox.publish("stream", mergeKey, { name, text }, build);
    };
    // Comm messages go out with the parent of the code that sends them (protocol.cjs).
    this.comms = installComms((type, content, metadata, buffers) =>
      this.publishFor(protocol.currentRequest(), type, content, metadata, buffers),
    );
    this.takePayload = installOutput((type, content) =>
      this.publishFor(protocol.currentRequest(), type, content),
    );
    this.userInput = installStdin(
      (request, content) => this.sendInputRequest(request, content),
      () => this.iopub.outbox.drained(),
    );
  }

  /** Queues an iopub message with parent `parent` behind the outputs already queued. */
  publishFor(parent, type, content, metadata = {}, buffers = []) {
    const key = this.connInfo.key;
    const build = (c) => protocol.framesFor(key, parent, type, c, { metadata, buffers }).frames;
    this.iopub.outbox.publish(type, null, content, build);
  }

  /** Sends a reply on a ROUTER socket (shell, control) to the sender of `msg`. */
  replyTo(sock, msg, type, content) {
    const options = { identity: msg.identity };
    sock.send(protocol.framesFor(this.connInfo.key, msg, type, content, options).frames);
  }

  /** Sends an input_request to the front end of execute_request `request`; returns its id. */
  sendInputRequest(request, content) {
    const key = this.connInfo.key;
    // The front end's stdin socket has the identity of its shell socket, as jupyter_client sets.
    const options = { identity: request.identity };
    const { frames, header } = protocol.framesFor(key, request, "input_request", content, options);
    this.stdin.send(frames);
    return header.msg_id;
  }

  async init() {
    await super.init();
    this.readStdin();
  }

  /** tslab never reads its stdin socket; input replies arrive there. */
  async readStdin() {
    try {
      for await (const frames of this.stdin) {
        try {
          this.userInput.receive(protocol.parseFrames(this.connInfo.key, frames));
        } catch (error) {
          const why = error && error.message;
          require("fs").writeSync(2, `lesson4-ts kernel: a stdin message was dropped: ${why}\n`);
        }
      }
    } catch (error) {
      // The socket was closed (shutdown): nothing more to read.
    }
  }

  handleShellMessage(sock, ...frames) {
    let msg = null;
    try {
      msg = protocol.parseFrames(this.connInfo.key, frames);
    } catch (error) {
      // Left to tslab, which reports a malformed message as it always did.
    }
    if (!msg || !OWN_MESSAGES.has(msg.header.msg_type)) {
      return super.handleShellMessage(sock, ...frames);
    }
    return protocol.runForRequest(msg, () => this.handleOwnMessage(sock, msg));
  }

  /** history, comm_info and comm messages: busy, the reply (requests only), idle, as tslab does. */
  async handleOwnMessage(sock, msg) {
    const type = msg.header.msg_type;
    this.publishFor(msg, "status", { execution_state: "busy" });
    try {
      if (type === "history_request") {
        this.replyTo(sock, msg, "history_reply", history.reply(msg.content));
      } else if (type === "comm_info_request") {
        this.replyTo(sock, msg, "comm_info_reply", this.comms.info(msg.content));
      } else {
        await this.comms.handle(msg);
      }
    } catch (error) {
      require("fs").writeSync(2, `lesson4-ts kernel: ${type} failed: ${error && error.stack}\n`);
      if (type.endsWith("_request")) {
        const evalue = String(error && error.message);
        const ename = (error && error.name) || "Error";
        const reply = { status: "error", ename, evalue, traceback: [evalue] };
        this.replyTo(sock, msg, type.replace(/_request$/, "_reply"), reply);
      }
    } finally {
      this.publishFor(msg, "status", { execution_state: "idle" });
    }
  }

  /** Runs as the request's work, so that the cell's comm messages and input requests name it. */
  handleExecute(sock, msg) {
    return protocol.runForRequest(msg, () => this.executeRequest(sock, msg));
  }

  async executeRequest(sock, msg) {
    // Which notebook cell runs (front ends send its id), for lib/display/plot.ts.
    const meta = msg.metadata || {};
    globalThis[Symbol.for("lesson4-ts.running-cell")] = {
      cellId: typeof meta.cellId === "string" ? meta.cellId : null,
      execution: ++executions,
      deletedCells: Array.isArray(meta.deletedCells) ? meta.deletedCells : [],
    };
    cell.lastVar = null;
    cell.error = null;
    cell.diagnostics = [];
    const key = this.connInfo.key;
    const parent = msg.header.msg_id;
    const build = (type) => (content) => {
      const out = msg.createReply();
      out.header.msg_type = type;
      out.content = content;
      return framesOf(out, key);
    };
    const publish = (type, content, mergeKey = null) =>
      this.iopub.outbox.publish(type, mergeKey, content, build(type));
    const writeStream = (name, text) =>
      publish("stream", { name, text }, `stream:${parent}:${name}`);
    const writeDisplayData = (data, update) => {
      const id = data && data.transient && data.transient.display_id;
      if (update) publish("update_display_data", data, id ? `update:${parent}:${id}` : null);
      else publish("display_data", data);
    };
    const executor = this.handler.executor;
    const content = await this.handler.handleExecute(msg.content, writeStream, writeDisplayData);
    if (content.status === "ok" && cell.lastVar) {
      const value = executor.locals[cell.lastVar];
      delete executor.locals[cell.lastVar];
      try {
        const bundle = await loadRich()(value);
        if (bundle) {
          const count = content.execution_count;
          publish("execute_result", { execution_count: count, data: bundle, metadata: {} });
          if (typeof bundle["text/plain"] === "string")
            history.setOutput(count, bundle["text/plain"]);
        }
      } catch (error) {
        writeStream("stderr", `Could not display the value: ${error && error.message}\n`);
      }
    }
    if (content.status === "error") {
      const err = cell.diagnostics.length
        ? describeDiagnostics(cell.diagnostics, msg.content.code)
        : describeError(cell.error, sourcemap.originalPosition);
      // The error's first line in red, as IPython shows it (front ends and nbconvert render ANSI).
      if (err.traceback.length)
        err.traceback = [`\x1b[0;31m${err.traceback[0]}\x1b[0m`, ...err.traceback.slice(1)];
      Object.assign(content, err);
      publish("error", err);
      // tslab aborts the requests that arrive in the 200 ms after an error (those queued behind the
      // failed cell); reply after that window so the front end's next request is not aborted too.
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
    // The cell's outputs reach the front end before its reply (and then its idle status).
    await this.iopub.outbox.drained();
    const reply = msg.createReply();
    reply.header.msg_type = "execute_reply";
    const payload = this.takePayload(msg.header.msg_id);
    reply.content = {
      user_expressions: {},
      ...content,
      payload: [...(content.payload || []), ...payload],
    };
    reply.signAndSend(this.connInfo.key, sock);
  }

  /** A shutdown's reply and last status are sent before the sockets close. */
  async close() {
    await Promise.all(
      ["shell", "control", "iopub"].map((n) => this[n] && this[n].outbox.drained()),
    );
    super.close();
  }
}
for (const name of ["iopub", "shell", "control", "stdin", "hb"]) {
  Object.defineProperty(LessonServer.prototype, name, {
    get() {
      return this[`_${name}`];
    },
    set(socket) {
      this[`_${name}`] = socket ? queuedSocket(socket, name) : socket;
    },
  });
}

const connectionFile = process.argv[2];
if (!connectionFile) {
  console.error("usage: launch.cjs CONNECTION_FILE");
  process.exit(2);
}
startKernel(connectionFile);
