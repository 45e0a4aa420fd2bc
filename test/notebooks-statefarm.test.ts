// Notebooks 04, 05: run, re-run and exported (test/support/notebook-suite.ts).
import { notebookSuite } from "./support/notebook-suite";

notebookSuite("statefarm", ["04-", "05-"]);
