// Notebooks 06, 07: run, re-run and exported (test/support/notebook-suite.ts).
import { notebookSuite } from "./support/notebook-suite";

notebookSuite("collab", ["06-", "07-"]);
