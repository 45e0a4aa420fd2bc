/** Streams the Kaggle competition zip to a folder once (it is gigabytes: never held in memory). */
import * as fs from "fs";
import * as path from "path";
import { Unzip, UnzipInflate } from "fflate";

/** Extracts `zipFile` into `dest` (default: the zip's path without .zip); returns the folder. Skips work if done before. */
export async function extractZip(
  zipFile: string,
  dest = zipFile.replace(/\.zip$/i, ""),
): Promise<string> {
  if (fs.existsSync(dest)) return dest;
  const tmp = `${dest}.${process.pid}.extracting.tmp`;
  fs.rmSync(tmp, { recursive: true, force: true });
  try {
    await streamUnzip(zipFile, tmp);
    // Older versions of the competition zip hold imgs.zip and driver_imgs_list.csv.zip.
    for (const inner of fs.readdirSync(tmp).filter((f) => f.endsWith(".zip"))) {
      await streamUnzip(path.join(tmp, inner), tmp);
      fs.rmSync(path.join(tmp, inner));
    }
    fs.renameSync(tmp, dest);
  } finally {
    fs.rmSync(tmp, { recursive: true, force: true });
  }
  return dest;
}

async function streamUnzip(zipFile: string, dest: string): Promise<void> {
  fs.mkdirSync(dest, { recursive: true });
  const root = path.resolve(dest);
  let failure: Error | null = null;
  const unzip = new Unzip((file) => {
    const target = path.resolve(root, file.name);
    if (!target.startsWith(root + path.sep)) {
      failure = new Error(`zip entry ${file.name} would be written outside ${dest}`);
      return;
    }
    if (file.name.endsWith("/")) {
      fs.mkdirSync(target, { recursive: true });
      return;
    }
    fs.mkdirSync(path.dirname(target), { recursive: true });
    const fd = fs.openSync(target, "w");
    file.ondata = (error, chunk, final) => {
      if (error) failure = error;
      else fs.writeSync(fd, chunk);
      if (final || error) fs.closeSync(fd);
    };
    file.start();
  });
  unzip.register(UnzipInflate);
  for await (const chunk of fs.createReadStream(zipFile, { highWaterMark: 1 << 20 })) {
    unzip.push(chunk as Uint8Array);
    if (failure) throw failure;
  }
  unzip.push(new Uint8Array(0), true);
  if (failure) throw failure;
}
