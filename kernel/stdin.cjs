// Asking the user for input from a cell, as Python's input() does in IPython: the kernel sends an
// input_request on the stdin channel, to the front end that sent the execute_request, and the
// cell's promise resolves with the value of its input_reply. tslab never reads its stdin socket.
// Kernel code calls globalThis[Symbol.for("lesson4-ts.input")](prompt, { password }).
"use strict";
const { ownRequest } = require("./protocol.cjs");

const API_KEY = Symbol.for("lesson4-ts.input");

/** Thrown when input is asked for where no front end can answer (named as in IPython). */
class StdinNotImplementedError extends Error {
  constructor(message) {
    super(message);
    this.name = "StdinNotImplementedError";
  }
}

class Stdin {
  /**
   * @param send (request, content) => Promise<string> | string: sends an input_request for the
   *   execute_request `request` and returns the new message's id
   * @param flush () => Promise<void>: resolves once the cell's pending output has been sent
   */
  constructor(send, flush) {
    this.send = send;
    this.flush = flush;
    /** The input_request awaiting its reply: { msgId, resolve, reject }, or null. */
    this.pending = null;
  }

  /** Asks the front end for a line of input; resolves with what the user typed. */
  async input(prompt = "", options = {}) {
    const request = ownRequest();
    if (!request || request.header.msg_type !== "execute_request") {
      throw new StdinNotImplementedError("input can only be asked for while a cell runs");
    }
    if (!request.content.allow_stdin) {
      throw new StdinNotImplementedError(
        "this front end does not accept input (its " +
          "execute_request has allow_stdin false), so the cell cannot ask for any; " +
          "give the value in the code instead",
      );
    }
    if (this.pending) throw new Error("another input request is still waiting for its reply");
    // What the cell printed so far (often the question) reaches the front end before the prompt.
    await this.flush();
    const content = { prompt: String(prompt), password: Boolean(options && options.password) };
    const waiting = new Promise((resolve, reject) => {
      this.pending = { msgId: null, resolve, reject };
    });
    const pending = this.pending;
    try {
      pending.msgId = await this.send(request, content);
    } catch (error) {
      if (this.pending === pending) this.pending = null;
      throw error;
    }
    return waiting;
  }

  /** A message that arrived on the stdin socket (parsed). */
  receive(msg) {
    const pending = this.pending;
    if (!pending || msg.header.msg_type !== "input_reply") return;
    // A reply to an earlier, abandoned request is not this one's answer. (jupyter_client's
    // input() sends its reply without a parent: that one answers the waiting request.)
    const parentId = msg.parent_header && msg.parent_header.msg_id;
    if (parentId && pending.msgId && parentId !== pending.msgId) return;
    this.pending = null;
    const content = msg.content || {};
    if (content.status && content.status !== "ok") {
      const status = content.status;
      pending.reject(new Error(`the front end answered the input request with status ${status}`));
    } else {
      pending.resolve(String(content.value == null ? "" : content.value));
    }
  }

  /** Ends the waiting input request (if any) with `error`, as an interrupt does. */
  cancel(error) {
    const pending = this.pending;
    if (!pending) return false;
    this.pending = null;
    pending.reject(error);
    return true;
  }
}

/** Creates the kernel's stdin helper and puts `input` on globalThis. */
function installStdin(send, flush) {
  const stdin = new Stdin(send, flush);
  globalThis[API_KEY] = (prompt, options) => stdin.input(prompt, options);
  return stdin;
}

module.exports = { installStdin, Stdin, StdinNotImplementedError, API_KEY };
