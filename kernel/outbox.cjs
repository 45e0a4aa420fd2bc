// One send at a time per ZeroMQ socket, in order, none lost: zeromq 6 allows a single send in
// progress per socket and rejects the others, and tslab sends every message without awaiting it,
// so a cell that printed or updated a display in a tight loop lost messages, its idle status among
// them, and a front end waiting for that status (nbclient, JupyterLab) waited forever.
//
// Messages that pile up behind a busy socket are merged where a front end shows the same thing:
// stream text of the same stream and cell is concatenated (as ipykernel batches its streams), and
// a display update replaces a pending update of the same display. Everything else keeps its place.
"use strict";

/** Largest stream text one merged message carries; a longer flood goes out in several. */
const MAX_STREAM_CHARS = 256 * 1024;

class Outbox {
  /**
   * @param {{ send(frames: unknown[]): Promise<void> }} socket a zeromq 6 socket
   * @param {(error: Error) => void} onError where a failed send is reported (never iopub itself)
   */
  constructor(socket, onError) {
    this.socket = socket;
    this.onError = onError;
    this.queue = [];
    this.pumping = false;
    this.idleWaiters = [];
  }

  /** Ready frames, as tslab's signAndSend makes them: sent in turn, never merged. */
  sendFrames(frames) {
    this.queue.push({ frames });
    this.pump();
  }

  /**
   * A message of Jupyter type `type`, built when its turn comes: `build(content)` returns its
   * frames. `mergeKey` names what it may merge with ("stream:<parent>:<name>" or
   * "update:<parent>:<display id>"); null for none.
   */
  publish(type, mergeKey, content, build) {
    const last = this.queue[this.queue.length - 1];
    if (mergeKey && last && last.mergeKey === mergeKey) {
      if (type === "stream" && last.content.text.length + content.text.length <= MAX_STREAM_CHARS) {
        last.content = { ...last.content, text: last.content.text + content.text };
        return;
      }
      if (type === "update_display_data") {
        last.content = content;
        return;
      }
    }
    this.queue.push({ mergeKey, content, build });
    this.pump();
  }

  /** Resolves once everything queued so far has been handed to the socket. */
  drained() {
    if (!this.queue.length && !this.pumping) return Promise.resolve();
    return new Promise((resolve) => this.idleWaiters.push(resolve));
  }

  async pump() {
    if (this.pumping) return;
    this.pumping = true;
    // Let the rest of this turn queue its messages first, so a burst merges.
    await new Promise((resolve) => setImmediate(resolve));
    while (this.queue.length) {
      const item = this.queue.shift();
      try {
        await this.socket.send(item.frames || item.build(item.content));
      } catch (error) {
        this.onError(error);
      }
    }
    this.pumping = false;
    for (const resolve of this.idleWaiters.splice(0)) resolve();
  }
}

/** The frames `message.signAndSend(key, socket)` would send, without sending them. */
function framesOf(message, key) {
  let frames = null;
  message.signAndSend(key, { send: (f) => (frames = f) });
  return frames;
}

module.exports = { Outbox, framesOf };
