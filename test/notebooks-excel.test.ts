// Notebooks 00, 01, 02, 03: run, re-run and exported (test/support/notebook-suite.ts).
import { notebookSuite } from "./support/notebook-suite";

notebookSuite("excel", ["00-", "01-", "02-", "03-"]);
