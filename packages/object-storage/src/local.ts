import { once } from 'node:events';
import { createReadStream, createWriteStream } from 'node:fs';
import { mkdir, readdir, readFile, rename, rm, stat, writeFile } from 'node:fs/promises';
import { dirname, join, relative, sep } from 'node:path';
import { pipeline } from 'node:stream/promises';
import { HashingStream, toReadable } from './hashing.js';
import { assertKey, ObjectNotFoundError, type ObjectStorage } from './types.js';

const META = '.meta.json';
/** Suffix of an object being written (`<key>.partial-<pid>-<time>`), renamed into place when complete. */
const PARTIAL = '.partial-';

/**
 * A folder as a bucket, for `pnpm dev` and tests without S3. Objects are written to a temporary
 * name and renamed into place, so a reader never sees half an object; files are 0600. Metadata
 * sits beside each object in `<key>.meta.json`.
 */
export function createLocalStorage(root: string): ObjectStorage {
  const pathOf = (key: string) => {
    assertKey(key);
    if (key.endsWith(META)) throw new TypeError(`Object keys may not end with ${META}`);
    return join(root, key);
  };

  async function readMeta(path: string): Promise<Record<string, string>> {
    try {
      return JSON.parse(await readFile(`${path}${META}`, 'utf8')) as Record<string, string>;
    } catch {
      return {};
    }
  }

  async function* walk(dir: string, partial = false): AsyncGenerator<string> {
    let entries: import('node:fs').Dirent[];
    try {
      entries = await readdir(dir, { withFileTypes: true });
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ENOENT') return;
      throw error;
    }
    entries.sort((a, b) => (a.name < b.name ? -1 : a.name > b.name ? 1 : 0));
    for (const entry of entries) {
      const full = join(dir, entry.name);
      if (entry.isDirectory()) yield* walk(full, partial);
      else if (!entry.name.endsWith(META) && entry.name.includes(PARTIAL) === partial) yield full;
    }
  }

  return {
    driver: 'local',
    async put(key, body, options = {}) {
      const path = pathOf(key);
      await mkdir(dirname(path), { recursive: true, mode: 0o700 });
      const partial = `${path}${PARTIAL}${process.pid}-${Date.now()}`;
      const hashing = new HashingStream();
      const file = createWriteStream(partial, { flags: 'wx', mode: 0o600 });
      try {
        await pipeline(toReadable(body), hashing, file, { signal: options.signal });
        if (options.metadata)
          await writeFile(`${path}${META}`, JSON.stringify(options.metadata), { mode: 0o600 });
        await rename(partial, path);
      } catch (error) {
        // A body that fails at once can fail while the file is still being opened: remove it only
        // once it is closed, or the open would create it after the removal.
        if (!file.closed) await once(file, 'close').catch(() => {});
        await rm(partial, { force: true });
        throw error;
      }
      return { key, size: hashing.bytes, sha256: hashing.digest() };
    },
    async get(key: string) {
      const path = pathOf(key);
      const stream = createReadStream(path, { highWaterMark: 256 * 1024 });
      await new Promise<void>((resolve, reject) => {
        stream.once('open', () => resolve());
        stream.once('error', (error: NodeJS.ErrnoException) =>
          reject(error.code === 'ENOENT' ? new ObjectNotFoundError(key) : error),
        );
      });
      return stream;
    },
    async head(key) {
      const path = pathOf(key);
      try {
        const info = await stat(path);
        return { key, size: info.size, lastModified: info.mtime, metadata: await readMeta(path) };
      } catch (error) {
        if ((error as NodeJS.ErrnoException).code === 'ENOENT') return null;
        throw error;
      }
    },
    async delete(key: string) {
      const path = pathOf(key);
      await rm(path, { force: true });
      await rm(`${path}${META}`, { force: true });
    },
    async *list(prefix = '') {
      for await (const path of walk(root)) {
        const key = relative(root, path).split(sep).join('/');
        if (!key.startsWith(prefix)) continue;
        const info = await stat(path);
        yield { key, size: info.size, lastModified: info.mtime };
      }
    },
    async *incompleteUploads(prefix = '') {
      for await (const path of walk(root, true)) {
        const name = relative(root, path).split(sep).join('/');
        const key = name.slice(0, name.lastIndexOf(PARTIAL));
        if (!key.startsWith(prefix)) continue;
        yield { key, uploadId: null, initiated: (await stat(path)).mtime };
      }
    },
    async close() {},
  };
}
