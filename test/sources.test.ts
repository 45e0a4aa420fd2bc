import { describe, expect, it } from "vitest";
import * as fs from "fs";
import * as os from "os";
import * as path from "path";
import { downloadFile, DownloadError, fromSources, writeFileAtomic } from "../lib/datasets/sources";

const tmpDir = () => fs.mkdtempSync(path.join(os.tmpdir(), "lesson4-src-"));

describe("downloads", () => {
  it("offline: fails with what to do by hand and leaves no file", async () => {
    const dir = tmpDir();
    const dest = path.join(dir, "data.zip");
    const offline = (async () => {
      throw Object.assign(new TypeError("fetch failed"), { cause: { code: "ENOTFOUND" } });
    }) as unknown as typeof fetch;
    const failure = downloadFile("https://example.org/data.zip", dest, {
      fetchImpl: offline,
      manualHint: "put data.zip in data/",
    });
    await expect(failure).rejects.toThrow(DownloadError);
    await expect(
      downloadFile("https://example.org/data.zip", dest, {
        fetchImpl: offline,
        manualHint: "put data.zip in data/",
      }),
    ).rejects.toThrow(/ENOTFOUND \(are you offline\?\)\. To continue, put data\.zip in data\//);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("a transfer cut short is rejected and leaves no file", async () => {
    const dir = tmpDir();
    const dest = path.join(dir, "data.bin");
    const short = (async () =>
      new Response(new Uint8Array(10), {
        headers: { "content-length": "10" },
      })) as unknown as typeof fetch;
    await expect(
      downloadFile("https://example.org/data.bin", dest, { fetchImpl: short, bytes: 20 }),
    ).rejects.toThrow(/incomplete: 10 of 20 bytes/);
    expect(fs.readdirSync(dir)).toEqual([]);
  });

  it("a complete transfer is renamed into place, reporting progress", async () => {
    const dir = tmpDir();
    const dest = path.join(dir, "sub", "data.bin");
    const ok = (async () => new Response(new Uint8Array([1, 2, 3]))) as unknown as typeof fetch;
    const seen: number[] = [];
    await downloadFile("https://example.org/data.bin", dest, {
      fetchImpl: ok,
      onProgress: (r) => seen.push(r),
    });
    expect([...fs.readFileSync(dest)]).toEqual([1, 2, 3]);
    expect(seen.at(-1)).toBe(3);
    expect(fs.readdirSync(path.dirname(dest))).toEqual(["data.bin"]);
  });

  it("fromSources finds files only inside LESSON4_SOURCES_DIR", () => {
    const dir = tmpDir();
    writeFileAtomic(path.join(dir, "data", "x.csv"), "a\n1\n");
    expect(fromSources("data/x.csv", { sourcesDir: dir })).toBe(path.join(dir, "data", "x.csv"));
    expect(fromSources("data/y.csv", { sourcesDir: dir })).toBeNull();
    expect(fromSources("data/x.csv", { sourcesDir: null })).toBeNull();
  });
});
