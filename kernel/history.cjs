// Input history of this kernel session, answering `history_request` (tslab has none and leaves
// the request unanswered, so a front end asking for it waits for ever). Shapes follow the Jupyter
// messaging spec and IPython's HistoryManager, which front ends expect:
//   tail   - the last `n` cells;
//   range  - cells `start` <= line < `stop` (no stop: to the end) of `session`;
//   search - cells whose whole input matches the glob `pattern` (* and ?), the last `n` if given,
//            with `unique` only the latest of equal inputs;
// each entry [session, line, input], or [session, line, [input, output]] when `output` is true.
// History lives in memory: a restarted kernel starts a new, empty session.
"use strict";

/** This session's number. IPython numbers sessions in its database; there is only one here. */
const SESSION = 1;

class History {
  constructor() {
    /** { line, input, output } in execution order; output is the result's text/plain or null. */
    this.entries = [];
  }

  /** Records a cell as it starts; `line` is its execution count (In[line]). */
  add(line, input) {
    this.entries.push({ line, input, output: null });
  }

  /** The text of the cell's result (Out[line]), for requests with `output: true`. */
  setOutput(line, text) {
    for (let i = this.entries.length - 1; i >= 0; i--) {
      if (this.entries[i].line === line) {
        this.entries[i].output = text;
        return;
      }
    }
  }

  /** Content of the `history_reply` to a `history_request` content. */
  reply(request = {}) {
    const picked = this.select(request);
    const entry = (e) => (request.output ? [e.input, e.output] : e.input);
    const history = picked.map((e) => [SESSION, e.line, entry(e)]);
    return { status: "ok", history };
  }

  select(request) {
    const last = (list, n) =>
      Number.isInteger(n) && n >= 0 ? list.slice(Math.max(0, list.length - n)) : list;
    switch (request.hist_access_type) {
      case "tail":
        return last(this.entries, request.n == null ? 10 : request.n);
      case "range": {
        // Session 0 (or a negative offset of 0) is the current one, as in IPython; earlier
        // sessions are not kept.
        const session = request.session == null ? 0 : request.session;
        if (session !== 0 && session !== SESSION) return [];
        const start = request.start == null ? 0 : request.start;
        const stop = request.stop == null ? Infinity : request.stop;
        return this.entries.filter((e) => e.line >= start && e.line < stop);
      }
      case "search": {
        const matches = globMatcher(request.pattern == null ? "*" : String(request.pattern));
        let found = this.entries.filter((e) => matches(e.input));
        if (request.unique) {
          // The latest of equal inputs, in the order of those latest occurrences.
          const latestOf = new Map();
          for (const e of found) latestOf.set(e.input, e);
          found = found.filter((e) => latestOf.get(e.input) === e);
        }
        return last(found, request.n);
      }
      default:
        return [];
    }
  }
}

/** A test of a whole string against a glob: `*` any run of characters, `?` any one. */
function globMatcher(pattern) {
  let source = "";
  for (const ch of pattern) {
    if (ch === "*") source += "[\\s\\S]*";
    else if (ch === "?") source += "[\\s\\S]";
    else source += ch.replace(/[\\^$.*+?()[\]{}|/-]/g, "\\$&");
  }
  const regex = new RegExp(`^${source}$`, "u");
  return (text) => regex.test(text);
}

module.exports = { History, SESSION, globMatcher };
