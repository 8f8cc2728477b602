import { createHash } from 'node:crypto';
import {
  chmodSync,
  lstatSync,
  mkdirSync,
  readdirSync,
  readFileSync,
  readlinkSync,
  symlinkSync,
  writeFileSync,
} from 'node:fs';
import { join } from 'node:path';

export interface TreeSnapshot {
  [path: string]: {
    type: 'file' | 'directory' | 'symlink';
    sha?: string;
    size?: number;
    mode?: number;
    target?: string;
  };
}

/** Builds the test tree: nesting, 500 files in one directory, Unicode and long names, empty files. */
export function makeTree(root: string, options: { symlinks: boolean; longNames: boolean }): void {
  mkdirSync(root, { recursive: true });
  writeFileSync(join(root, 'user-data'), '#cloud-config\nruncmd: []\n');
  writeFileSync(join(root, 'meta-data'), 'instance-id: test-1\n');
  writeFileSync(join(root, 'empty'), '');
  writeFileSync(join(root, 'run.sh'), '#!/bin/sh\necho ok\n');
  chmodSync(join(root, 'run.sh'), 0o755);
  let deep = root;
  for (let i = 0; i < 10; i++) {
    deep = join(deep, `level-${i}`);
    mkdirSync(deep);
    writeFileSync(join(deep, `file-${i}.bin`), Buffer.alloc(3000 + i * 1000, i));
  }
  const many = join(root, 'many');
  mkdirSync(many);
  for (let i = 0; i < 500; i++) writeFileSync(join(many, `entry-${String(i).padStart(3, '0')}.txt`), `content ${i}\n`);
  const uni = join(root, 'ünïcødé dir');
  mkdirSync(uni);
  writeFileSync(join(uni, 'Ærø-日本語-😀.txt'), 'unicode\n');
  writeFileSync(join(uni, `${'long-name-'.repeat(6)}1234`), 'exactly 64 characters\n');
  writeFileSync(join(uni, 'two-sectors'), Buffer.alloc(4097, 7));
  if (options.longNames) writeFileSync(join(uni, `${'very-long-name-'.repeat(10)}end.txt`), 'long\n');
  if (options.symlinks) {
    symlinkSync('../user-data', join(uni, 'link-up'));
    symlinkSync('/etc/hostname', join(root, 'abs-link'));
  }
}

/** Records every entry below `root`: type, content hash, permission bits and link target. */
export function snapshot(root: string, options: { modes: boolean }): TreeSnapshot {
  const out: TreeSnapshot = {};
  const walk = (dir: string, rel: string) => {
    for (const name of readdirSync(dir)) {
      const full = join(dir, name);
      const path = `${rel}/${name}`;
      const st = lstatSync(full);
      const mode = options.modes ? st.mode & 0o777 : undefined;
      if (st.isSymbolicLink()) out[path] = { type: 'symlink', target: readlinkSync(full) };
      else if (st.isDirectory()) {
        out[path] = { type: 'directory', ...(mode !== undefined ? { mode } : {}) };
        walk(full, path);
      } else {
        const data = readFileSync(full);
        out[path] = {
          type: 'file',
          size: data.length,
          sha: createHash('sha256').update(data).digest('hex'),
          ...(mode !== undefined ? { mode } : {}),
        };
      }
    }
  };
  walk(root, '');
  return out;
}
