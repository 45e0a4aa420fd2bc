"""Jupyter's kernel test suite (jupyter_kernel_test) against the project's kernelspec.

Run: JUPYTER_PATH=environment/jupyter python3 -m unittest kernel/tests/test_kernel_suite.py
Features the kernel does not offer are left out of the class attributes, which the suite
skips with its own reason (history, comms, code_page_something).
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
    incomplete_code_samples = ["function f() {", "const x = ["]
    code_generate_error = 'throw new Error("boom")'
    code_execute_result = [{"code": "6 * 7", "result": "42"}, {"code": '"a" + "b"', "result": "'ab'"}]
    code_display_data = [{"code": 'require("tslab").display.html("<b>hi</b>")', "mime": "text/html"},
                         {"code": 'require("tslab").display.text("plain")', "mime": "text/plain"}]
    code_inspect_sample = "Math.max"


if __name__ == "__main__":
    unittest.main()
