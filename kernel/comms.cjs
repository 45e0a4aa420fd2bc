// Jupyter comms: two-way channels between kernel code and the front end (widgets are built on
// them). tslab 1.0.22 has none and answers comm_info_request without a status. Here:
//  - the front end's comm_open reaches the handler kernel code registered for its target name
//    (unknown targets are closed again at once, as the messaging spec asks); its comm_msg and
//    comm_close reach that comm's onMsg/onClose handlers;
//  - kernel code opens comms itself with `open(target, data, metadata)`;
//  - comm_info_request lists the open comms.
// Kernel code reaches all this through globalThis[Symbol.for("lesson4-ts.comms")] (see
// kernel/README.md), so a module loaded twice (by tslab and by tsx) still shares one registry.
// What a comm sends goes out on iopub with the parent of the code that sends it (see
// protocol.cjs): a cell's messages are the cell's, a handler's are the triggering message's.
"use strict";
const crypto = require("crypto");

const API_KEY = Symbol.for("lesson4-ts.comms");

/** Writes a handler's failure on the kernel's stderr (shown under the latest cell). */
function reportFailure(what, error) {
  const detail = error && error.stack ? error.stack : String(error);
  process.stderr.write(`${what}: ${detail}\n`);
}

/** Calls every handler with `args`; a failing or rejecting handler is reported, not thrown. */
async function callAll(handlers, what, ...args) {
  for (const handler of handlers.slice()) {
    try {
      await handler(...args);
    } catch (error) {
      reportFailure(what, error);
    }
  }
}

/** One open comm, seen from the kernel. */
class Comm {
  constructor(manager, id, targetName) {
    this.manager = manager;
    this.id = id;
    this.targetName = targetName;
    this.closed = false;
    this.msgHandlers = [];
    this.closeHandlers = [];
  }

  /** Sends `data` (a JSON object) to the front end's side of the comm. */
  send(data = {}, metadata = {}, buffers = []) {
    if (this.closed) throw new Error(`comm ${this.id} (${this.targetName}) is closed`);
    this.manager.publish("comm_msg", { comm_id: this.id, data }, metadata, buffers);
  }

  /** `handler(data, message)` runs for each comm_msg from the front end. */
  onMsg(handler) {
    this.msgHandlers.push(handler);
    return this;
  }

  /** `handler(data, message)` runs when the front end closes the comm. */
  onClose(handler) {
    this.closeHandlers.push(handler);
    return this;
  }

  /** Closes the comm on both sides (the front end gets a comm_close). */
  close(data = {}, metadata = {}) {
    if (this.closed) return;
    this.closed = true;
    this.manager.comms.delete(this.id);
    this.manager.publish("comm_close", { comm_id: this.id, data }, metadata, []);
  }
}

class CommManager {
  /**
   * @param publish (msgType, content, metadata, buffers) => void: sends an iopub message whose
   *   parent is the request the calling code runs for
   */
  constructor(publish) {
    this.publish = publish;
    /** target name → handler(comm, message) for comms the front end opens */
    this.targets = new Map();
    /** comm id → Comm, open ones only */
    this.comms = new Map();
  }

  /** The object kernel code sees on globalThis. */
  api() {
    return {
      registerTarget: (name, handler) => this.registerTarget(name, handler),
      unregisterTarget: (name) => this.targets.delete(name),
      open: (targetName, data, metadata, buffers) => this.open(targetName, data, metadata, buffers),
      get: (id) => this.comms.get(id) || null,
      list: () => Array.from(this.comms.values()),
    };
  }

  registerTarget(name, handler) {
    if (typeof name !== "string" || !name) throw new TypeError("a comm target needs a name");
    if (typeof handler !== "function") {
      throw new TypeError(`comm target ${name}: handler is not a function`);
    }
    this.targets.set(name, handler);
  }

  /** Opens a comm from the kernel: the front end's target `targetName` gets a comm_open. */
  open(targetName, data = {}, metadata = {}, buffers = []) {
    if (typeof targetName !== "string" || !targetName) {
      throw new TypeError("a comm needs a target name");
    }
    const comm = new Comm(this, crypto.randomUUID().replace(/-/g, ""), targetName);
    this.comms.set(comm.id, comm);
    const content = { comm_id: comm.id, target_name: targetName, data };
    this.publish("comm_open", content, metadata, buffers);
    return comm;
  }

  /** Content of the comm_info_reply: open comms, only those of `target_name` if given. */
  info(request = {}) {
    const comms = {};
    for (const comm of this.comms.values()) {
      if (!request.target_name || comm.targetName === request.target_name) {
        comms[comm.id] = { target_name: comm.targetName };
      }
    }
    return { status: "ok", comms };
  }

  /** Handles comm_open, comm_msg or comm_close from the front end (a parsed message). */
  async handle(msg) {
    const content = msg.content || {};
    const event = {
      data: content.data || {},
      metadata: msg.metadata,
      buffers: msg.buffers,
      header: msg.header,
    };
    switch (msg.header.msg_type) {
      case "comm_open": {
        const handler = this.targets.get(content.target_name);
        if (!handler) {
          // The front end already holds a comm for this id: tell it there is none here.
          this.publish("comm_close", { comm_id: content.comm_id, data: {} }, {}, []);
          // A protocol matter, not the cell's: the kernel's log, as ipykernel does.
          const name = JSON.stringify(content.target_name);
          require("fs").writeSync(2, `lesson4-ts kernel: comm_open for unknown target ${name}\n`);
          return;
        }
        const comm = new Comm(this, content.comm_id, content.target_name);
        this.comms.set(comm.id, comm);
        try {
          await handler(comm, event);
        } catch (error) {
          reportFailure(`comm target ${content.target_name}`, error);
          comm.close();
        }
        return;
      }
      case "comm_msg": {
        const comm = this.comms.get(content.comm_id);
        if (!comm) return;
        await callAll(
          comm.msgHandlers,
          `comm ${comm.targetName} message handler`,
          event.data,
          event,
        );
        return;
      }
      case "comm_close": {
        const comm = this.comms.get(content.comm_id);
        if (!comm) return;
        comm.closed = true;
        this.comms.delete(comm.id);
        const what = `comm ${comm.targetName} close handler`;
        await callAll(comm.closeHandlers, what, event.data, event);
        return;
      }
      default:
    }
  }
}

/** Creates the kernel's comm manager and puts its API on globalThis. */
function installComms(publish) {
  const manager = new CommManager(publish);
  globalThis[API_KEY] = manager.api();
  return manager;
}

module.exports = { installComms, CommManager, Comm, API_KEY };
