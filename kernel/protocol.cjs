// The parts of the Jupyter wire protocol the kernel layer speaks itself, for the messages tslab
// does not handle (history, comms, stdin): parsing and signing frames, and which request a piece
// of work belongs to, so that what it sends later carries that request as its parent.
"use strict";
const crypto = require("crypto");
const { AsyncLocalStorage } = require("async_hooks");

/** The frame between the ZeroMQ routing identities and the signed message. */
const DELIM = Buffer.from("<IDS|MSG>");

function sign(key, bodies) {
  const hmac = crypto.createHmac("sha256", key || "");
  for (const body of bodies) hmac.update(body);
  return hmac.digest("hex");
}

/**
 * A received message: { identity, header, parent_header, metadata, content, buffers }. Throws if
 * the frames are malformed or the signature is wrong.
 */
function parseFrames(key, frames) {
  const at = frames.findIndex((frame) => Buffer.from(frame).equals(DELIM));
  if (at < 0) throw new Error("message missing delimiter");
  const signature = String(frames[at + 1]);
  const parts = frames.slice(at + 2);
  if (parts.length < 4) throw new Error("message has fewer than four parts");
  if (key) {
    const want = Buffer.from(sign(key, parts.slice(0, 4)));
    const got = Buffer.from(signature);
    if (got.length !== want.length || !crypto.timingSafeEqual(got, want)) {
      throw new Error("invalid message signature");
    }
  }
  const json = (i) => JSON.parse(Buffer.from(parts[i]).toString("utf8"));
  return {
    identity: frames.slice(0, at),
    header: json(0),
    parent_header: json(1),
    metadata: json(2),
    content: json(3),
    buffers: parts.slice(4),
  };
}

/**
 * Frames of a new message of type `type` whose parent is `parent` (a parsed message, or one of
 * tslab's: both have `header`). `identity` routes it on a ROUTER socket (shell, stdin); iopub
 * messages have none. Binary `buffers` follow the signed parts, as the protocol says.
 */
function framesFor(key, parent, type, content, options = {}) {
  const { identity = [], metadata = {}, buffers = [] } = options;
  const parentHeader = (parent && parent.header) || {};
  const header = {
    msg_id: crypto.randomBytes(16).toString("hex"),
    session: parentHeader.session || "",
    username: parentHeader.username || "kernel",
    date: new Date().toISOString(),
    msg_type: type,
    version: "5.3",
  };
  const bodies = [header, parentHeader, metadata, content].map((part) => JSON.stringify(part));
  const frames = [...identity, DELIM, sign(key, bodies), ...bodies, ...buffers.map(toBuffer)];
  return { frames, header };
}

function toBuffer(buffer) {
  if (Buffer.isBuffer(buffer)) return buffer;
  if (ArrayBuffer.isView(buffer)) {
    return Buffer.from(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  }
  return Buffer.from(buffer);
}

// Which request a piece of work runs for. A cell's code, the timers and promises it starts, and a
// comm handler called for a front end's comm_msg all carry their request in this async context,
// so what they send (comm messages, input requests) names the right parent: the front end shows
// a cell's comm output on that cell, and an event's reply comes back as a child of the event.
const requests = new AsyncLocalStorage();
/** The latest request handled: the parent of messages sent outside any request's context. */
let latest = null;

/** Runs `fn` as the work of request `msg`. */
function runForRequest(msg, fn) {
  latest = msg;
  return requests.run(msg, fn);
}

/** The request the calling code runs for, else the latest one handled (or null). */
function currentRequest() {
  return requests.getStore() || latest;
}

/** The request the calling code runs for, only if it runs for one. */
function ownRequest() {
  return requests.getStore() || null;
}

module.exports = { DELIM, parseFrames, framesFor, runForRequest, currentRequest, ownRequest };
