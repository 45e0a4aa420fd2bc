/**
 * The requests tslab 1.0.22 leaves out, against the project's kernel over the real Jupyter
 * protocol (kernel/tests/protocol.py drives it with jupyter_client): history, comm_info, comms
 * opened by the front end and by a cell, input on the stdin channel, is_complete, inspect.
 */
import { beforeAll, describe, expect, it } from "vitest";
import { driveKernel } from "./support/kernel-driver";

interface Msg {
  type: string;
  content: Record<string, any>;
  parent_id?: string;
  parent_type?: string;
}
interface Reply {
  type: string;
  content: Record<string, any>;
}
interface Request {
  msg_id: string;
  reply: Reply;
  iopub: Msg[];
  timed_out: boolean;
}
interface Sent {
  msg_id: string;
  iopub: Msg[];
  timed_out: boolean;
}
interface Executed {
  code: string;
  msg_id: string;
  reply: Reply;
  iopub: Msg[];
  stdin: Msg[];
  timed_out: boolean;
}
interface Results {
  cells: Executed[];
  tail: Request;
  range: Request;
  range_other_session: Request;
  search: Request;
  search_unique: Request;
  search_n: Request;
  comm_info_empty: Request;
  register: Executed;
  front_open: Sent;
  comm_info_open: Request;
  comm_info_other: Request;
  front_msg: Sent;
  front_close: Sent;
  comm_info_closed: Request;
  unknown_target: Sent;
  cell_open: Executed;
  cell_comm_info: Request;
  cell_comm_event: Sent;
  cell_close: Executed;
  input: Executed;
  password: Executed;
  no_stdin: Executed;
  input_interrupted: Executed;
  after_interrupt: Executed;
  is_complete: Record<string, { status: string; indent?: string }>;
  import: Executed;
  inspect_lib: Request;
  inspect_same_cell: Request;
  inspect_in_call: Request;
  inspect_class: Request;
  inspect_constructor: Request;
}

const drive = () => driveKernel<Results>("protocol.py");

const text = (r: Executed, name = "stdout") =>
  r.iopub
    .filter((m) => m.type === "stream" && m.content.name === name)
    .map((m) => m.content.text)
    .join("");
const result = (r: Executed) =>
  r.iopub.find((m) => m.type === "execute_result")?.content.data?.["text/plain"];
const ofType = (messages: Msg[], type: string) => messages.filter((m) => m.type === type);

let r: Results;
beforeAll(async () => {
  r = await drive();
}, 300_000);

describe("history_request", () => {
  it("records the cells run (In[1]..In[5], not the store_history false one)", () => {
    expect(r.cells.map((c) => c.reply.content.status)).toEqual(["ok", "ok", "ok", "ok", "error"]);
    expect(r.cells.map((c) => c.reply.content.execution_count)).toEqual([1, 2, 3, 4, 5]);
  });

  it("tail: the last n cells as [session, line, input]", () => {
    expect(r.tail.reply).toEqual({
      type: "history_reply",
      content: {
        status: "ok",
        history: [
          [1, 4, "a + 2"],
          [1, 5, 'throw new Error("fails")'],
        ],
      },
    });
  });

  it("range: start <= line < stop of the current session, with outputs when asked", () => {
    expect(r.range.reply.content).toEqual({
      status: "ok",
      history: [
        [1, 2, ["a + 1", "2"]],
        [1, 4, ["a + 2", "3"]],
      ],
    });
    expect(r.range_other_session.reply.content).toEqual({ status: "ok", history: [] });
  });

  it("search: a glob over the whole input; unique keeps the latest of equal inputs; n the last n", () => {
    expect(r.search.reply.content.history).toEqual([
      [1, 2, "a + 1"],
      [1, 4, "a + 2"],
      [1, 6, "a + 1"],
    ]);
    expect(r.search_unique.reply.content.history).toEqual([
      [1, 4, "a + 2"],
      [1, 6, "a + 1"],
    ]);
    expect(r.search_n.reply.content.history).toEqual([[1, 6, "a + 1"]]);
  });

  it("is answered with busy and idle around it, as other requests are", () => {
    expect(r.tail.timed_out).toBe(false);
  });
});

describe("comms", () => {
  it("comm_info_reply has status ok and lists no comms at first", () => {
    expect(r.comm_info_empty.reply).toEqual({
      type: "comm_info_reply",
      content: { status: "ok", comms: {} },
    });
  });

  it("a comm the front end opens reaches the target registered in the kernel, and its reply comes back", () => {
    expect(r.register.reply.content.status).toBe("ok");
    expect(r.front_open.timed_out).toBe(false);
    const [opened] = ofType(r.front_open.iopub, "comm_msg");
    expect(opened?.content).toEqual({
      comm_id: "frontendcomm0001",
      data: { opened_with: { hello: 1 } },
    });
    // Sent by the handler of the front end's message: that message is its parent.
    expect(opened?.parent_id).toBe(r.front_open.msg_id);
    expect(r.comm_info_open.reply.content).toEqual({
      status: "ok",
      comms: { frontendcomm0001: { target_name: "lesson4-ts.echo" } },
    });
    expect(r.comm_info_other.reply.content).toEqual({ status: "ok", comms: {} });
  });

  it("routes the front end's comm_msg to the comm's handler, whose answer has that message as parent", () => {
    const answers = ofType(r.front_msg.iopub, "comm_msg");
    expect(answers.map((m) => m.content)).toEqual([
      { comm_id: "frontendcomm0001", data: { echo: { n: 2 } } },
    ]);
    expect(answers[0].parent_id).toBe(r.front_msg.msg_id);
  });

  it("a comm_close from the front end runs onClose and the comm is gone", () => {
    expect(r.front_close.timed_out).toBe(false);
    expect(r.comm_info_closed.reply.content).toEqual({ status: "ok", comms: {} });
    // onClose printed: the output has the front end's comm_close as parent, as in ipykernel.
    const printed = ofType(r.front_close.iopub, "stream");
    expect(printed.map((m) => [m.content.text, m.parent_id])).toEqual([
      ['closed with {"bye":true}\n', r.front_close.msg_id],
    ]);
  });

  it("closes a comm opened for a target the kernel does not know", () => {
    expect(ofType(r.unknown_target.iopub, "comm_close").map((m) => m.content)).toEqual([
      { comm_id: "frontendcomm0002", data: {} },
    ]);
  });

  it("a cell opens a comm and sends on it; both messages are the cell's", () => {
    const [open] = ofType(r.cell_open.iopub, "comm_open");
    expect(open?.content).toMatchObject({ target_name: "lesson4-ts.test", data: { x: 1 } });
    expect(open?.parent_id).toBe(r.cell_open.msg_id);
    const [sent] = ofType(r.cell_open.iopub, "comm_msg");
    expect(sent?.content).toEqual({ comm_id: open.content.comm_id, data: { y: 2 } });
    expect(sent?.parent_id).toBe(r.cell_open.msg_id);
    expect(result(r.cell_open)).toBe(`'${open.content.comm_id}'`);
    expect(r.cell_comm_info.reply.content.comms).toEqual({
      [open.content.comm_id]: { target_name: "lesson4-ts.test" },
    });
  });

  it("a front-end event on a cell's comm is answered with the event as parent; close() sends comm_close", () => {
    const [answer] = ofType(r.cell_comm_event.iopub, "comm_msg");
    expect(answer?.content.data).toEqual({ answer: 42 });
    expect(answer?.parent_id).toBe(r.cell_comm_event.msg_id);
    const [closed] = ofType(r.cell_close.iopub, "comm_close");
    expect(closed?.content.data).toEqual({ done: true });
    expect(closed?.parent_id).toBe(r.cell_close.msg_id);
    expect(result(r.cell_close)).toBe("true");
  });
});

describe("input from the user (stdin channel)", () => {
  it("sends input_request after the cell's earlier output and resolves with the input_reply's value", () => {
    expect(r.input.stdin.map((m) => [m.type, m.content, m.parent_id])).toEqual([
      ["input_request", { prompt: "name? ", password: false }, r.input.msg_id],
    ]);
    expect(text(r.input)).toContain("before the question");
    expect(r.input.reply.content.status).toBe("ok");
    expect(result(r.input)).toBe("'got Ada'");
    expect(r.password.stdin[0]?.content).toEqual({ prompt: "secret: ", password: true });
    expect(result(r.password)).toBe("'hunter2'");
  });

  it("fails clearly when the front end does not allow stdin", () => {
    expect(r.no_stdin.stdin).toEqual([]);
    expect(r.no_stdin.reply.content).toMatchObject({
      status: "error",
      ename: "StdinNotImplementedError",
    });
    expect(r.no_stdin.reply.content.evalue).toMatch(/^this front end does not accept input/);
  });

  it("an interrupt while waiting ends the cell with KeyboardInterrupt, and the kernel goes on", () => {
    expect(r.input_interrupted.stdin).toHaveLength(1);
    expect(r.input_interrupted.reply.content).toMatchObject({
      status: "error",
      ename: "KeyboardInterrupt",
    });
    expect(text(r.input_interrupted)).not.toContain("after input");
    expect(result(r.after_interrupt)).toBe("42");
  });
});

describe("is_complete_request", () => {
  it("tells invalid code from unfinished code", () => {
    expect(r.is_complete).toEqual({
      "1 +* 2": { status: "invalid" },
      "}": { status: "invalid" },
      "function f() {": { status: "incomplete", indent: "  " },
      "const s = `abc": { status: "incomplete", indent: "" },
      "1 + 2": { status: "complete" },
      "for (const x of [1]) {\n  if (x) {": { status: "incomplete", indent: "    " },
    });
  });
});

describe("inspect_request on a lib function imported through notebooks/lib", () => {
  it("shows its signature and doc comment, not any (imported in an earlier cell, in the same cell, inside the call)", () => {
    expect(r.import.reply.content.status).toBe("ok");
    const cases: [Request, string][] = [
      [r.inspect_lib, "fitCollab"],
      [r.inspect_same_cell, "fit2"],
      [r.inspect_in_call, "fitCollab"],
    ];
    for (const [inspected, name] of cases) {
      const shown = String(inspected.reply.content.data?.["text/plain"] ?? "");
      expect(inspected.reply.content.found, shown).toBe(true);
      expect(shown).toMatch(new RegExp(`^\\(alias\\) (function )?${name}\\(`));
      expect(shown).not.toMatch(/: any$/m);
      expect(shown).toMatch(
        /\(ratings: RatingsInput, options\?: CollabOptions\): Promise<CollabResult>/,
      );
      expect(shown).toContain("Trains a dot / bias / nn model on ratings with MovieLens ids.");
    }
  });

  it("a class shows its doc comment, and inside `new C(` its constructor's signature", () => {
    const shown = (q: Request) => String(q.reply.content.data?.["text/plain"] ?? "");
    expect(shown(r.inspect_class)).toMatch(/^\(alias\) class ImageDataGenerator/);
    expect(shown(r.inspect_class)).toContain("Keras-style ImageDataGenerator");
    const signature = shown(r.inspect_constructor);
    expect(signature).toMatch(
      /new ImageDataGenerator\(options\?: AugmentOptions\): ImageDataGenerator/,
    );
  });
});
