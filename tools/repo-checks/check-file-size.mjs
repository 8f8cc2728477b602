// Source files over 300 lines (packages/*/src/**/*.ts, tests excluded): one concept per file, and a file
// that grows past that is doing more than one thing. Usage: node tools/repo-checks/check-file-size.mjs [--report-only]
// (--report-only prints the offenders and exits 0).
import { existsSync, readFileSync, readdirSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';

const maxLines = 300;
const root = join(dirname(fileURLToPath(import.meta.url)), '..', '..');
const reportOnly = process.argv.includes('--report-only');

process.chdir(root);
const files = readdirSync('packages')
  .map((name) => join('packages', name, 'src'))
  .filter((dir) => existsSync(dir))
  .flatMap((dir) => readdirSync(dir, { recursive: true, encoding: 'utf8' }).map((file) => join(dir, file)))
  .filter((file) => file.endsWith('.ts') && !file.endsWith('.test.ts'))
  .sort();

/** Lines as `wc -l` counts them, plus a last line that has no newline. */
const countLines = (text) => text.split('\n').length - (text === '' || text.endsWith('\n') ? 1 : 0);

const offenders = files
  .map((file) => ({ file, lines: countLines(readFileSync(file, 'utf8')) }))
  .filter(({ lines }) => lines > maxLines);
for (const { file, lines } of offenders) console.log(`file over ${maxLines} lines: ${file} (${lines})`);
if (offenders.length === 0) {
  console.log(`check-file-size: no source file over ${maxLines} lines (${files.length} files)`);
} else {
  console.log(
    `check-file-size: ${offenders.length} file(s) over ${maxLines} lines${reportOnly ? ' (report only)' : ''}`,
  );
  if (!reportOnly) process.exitCode = 1;
}
