"""Jupyter's kernel test suite (jupyter_kernel_test) against the project's kernelspec.

Run: JUPYTER_PATH=environment/jupyter python3 -m unittest kernel/tests/test_kernel_suite.py
Every feature the suite tests has a sample, so none is skipped: the pager and clear_output go
through the kernel's output API (kernel/output.cjs), which lib/display's page and clearOutput
wrap. jupyter_kernel_test 0.7.0 has no comm tests; test/kernel-protocol.test.ts covers comms,
input and more of history and is_complete, test/kernel-widgets.test.ts widgets.
"""
import unittest

import jupyter_kernel_test


class LessonKernelTests(jupyter_kernel_test.KernelTests):
    kernel_name = "lesson4-ts"
    language_name = "typescript"
    file_extension = ".ts"

    code_hello_world = 'console.log("hello, world")'
    code_stderr = 'console.error("oops")'
    completion_samples = [{"text": "Math.fl", "matches": {"Math.floor"}}]
    complete_code_samples = ["1", "const x = 1;", "function f() { return 1; }"]
    incomplete_code_samples = ["function f() {", "const x = [", "foo(1,", "const s = `abc", "1 +"]
    invalid_code_samples = ["1 +* 2", "}", "const = 3;"]
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [{"code": "6 * 7", "result": "42"}, {"code": '"a" + "b"', "result": "'ab'"}]
    code_display_data = [{"code": 'require("tslab").display.html("<b>hi</b>")', "mime": "text/html"},
                         {"code": 'require("tslab").display.text("plain")', "mime": "text/plain"}]
    code_inspect_sample = "Math.max"
    output = '(globalThis as any)[Symbol.for("lesson4-ts.output")]'
    code_page_something = output + '.page("Math.max returns the largest of its arguments.")'
    code_clear_output = 'console.log("a line drawn again");\n' + output + ".clearOutput()"
    # test_history runs code_execute_result's cells and reads them back; the pattern matches
    # only the first of them (a glob over the whole input).
    supported_history_operations = ("tail", "range", "search")
    code_history_pattern = "6 *"


if __name__ == "__main__":
    unittest.main()
