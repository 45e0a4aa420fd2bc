// What a cell can ask of its output area besides showing things: clear it (IPython's
// clear_output, for a line redrawn in place) and page text (IPython's `?`: a payload of the
// execute reply, which JupyterLab shows below the cell). tslab has neither.
// Kernel code reaches both through globalThis[Symbol.for("lesson4-ts.output")] (kernel/README.md).
"use strict";
const protocol = require("./protocol.cjs");

const API_KEY = Symbol.for("lesson4-ts.output");

/**
 * Puts the output API on globalThis.
 * @param publish (msgType, content) => void: an iopub message whose parent is the request the
 *   calling code runs for, queued behind that request's earlier output
 * @returns takePayload(msgId): the pager payloads a cell's code added, for its execute_reply
 */
function installOutput(publish) {
  const payloads = new Map(); // execute request msg_id → payload entries
  globalThis[API_KEY] = {
    clearOutput(options = {}) {
      publish("clear_output", { wait: Boolean(options.wait) });
    },
    page(data, start = 0) {
      const request = protocol.ownRequest();
      if (!request || request.header.msg_type !== "execute_request") {
        throw new Error("page() works in code a cell runs (its execute_reply carries the text)");
      }
      const bundle = typeof data === "string" ? { "text/plain": data } : data;
      if (!bundle || typeof bundle["text/plain"] !== "string") {
        throw new TypeError("page() needs text, or a MIME bundle with text/plain");
      }
      const id = request.header.msg_id;
      payloads.set(id, [...(payloads.get(id) || []), { source: "page", data: bundle, start }]);
    },
  };
  return (msgId) => {
    const list = payloads.get(msgId) || [];
    payloads.delete(msgId);
    return list;
  };
}

module.exports = { installOutput, API_KEY };
