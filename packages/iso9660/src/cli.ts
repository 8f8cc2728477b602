#!/usr/bin/env node
import { readFileSync } from 'node:fs';
import { Command, InvalidArgumentError } from 'commander';
import { isIsoError } from './errors.js';
import { extractImage } from './extract-image.js';
import { IsoReader } from './reader.js';
import { entriesFromDirectory } from './source-fs.js';
import { TEXT_DEFAULTS, writeImageToPath } from './image-writer.js';

// A reader that went away (`| head`, `| grep -q`) is not an error: exit quietly, as cat does,
// instead of an unhandled EPIPE stack trace.
for (const s of [process.stdout, process.stderr]) {
  s.on('error', (e: NodeJS.ErrnoException) => {
    if (e.code !== 'EPIPE') throw e;
    process.exit(process.exitCode ?? 0);
  });
}

const pkg = JSON.parse(readFileSync(new URL('../package.json', import.meta.url), 'utf8')) as { version: string };

function parseDate(value: string): Date {
  const d = new Date(value);
  if (Number.isNaN(d.getTime()))
    throw new InvalidArgumentError(`"${value}" is not an ISO-8601 date (e.g. 2026-01-31T12:00:00Z)`);
  return d;
}

const program = new Command('iso9660')
  .description('Create, list and extract ISO 9660 images (Joliet, Rock Ridge).')
  // Only --version: commander's default -V would swallow the -V <volume-id> of create.
  .version(pkg.version, '--version');

program
  .command('create')
  .description('write an image of a directory tree')
  .argument('<source-dir>', 'directory whose contents become the image root')
  .requiredOption('-o, --output <image>', 'image file to write (replaced atomically)')
  .requiredOption('-V, --volume-id <id>', 'volume label, e.g. cidata for a cloud-init seed')
  .option('--no-joliet', 'omit the Joliet tree')
  .option('--rock-ridge', 'add Rock Ridge (POSIX names, modes, symlinks)', false)
  .option(
    '--date <iso-8601>',
    'fixed timestamp for reproducible output (default: SOURCE_DATE_EPOCH, else now)',
    parseDate,
  )
  .option('--no-fsync', 'skip flushing the image to disk before it replaces the output (faster, less crash-safe)')
  .action(
    async (
      source: string,
      o: { output: string; volumeId: string; joliet: boolean; rockRidge: boolean; date?: Date; fsync: boolean },
    ) => {
      const entries = await entriesFromDirectory(source);
      // commander has checked the arguments (the volume id's length is checked by the layout), so the
      // zod-validating writeIso, and the time it takes to load zod, is not needed here.
      const r = await writeImageToPath(entries, o.output, {
        ...TEXT_DEFAULTS,
        volumeId: o.volumeId,
        joliet: o.joliet,
        rockRidge: o.rockRidge,
        date: o.date,
        fsync: o.fsync,
      });
      console.error(`wrote ${o.output}: ${r.bytes} bytes, ${r.files} files, ${r.directories} directories`);
    },
  );

program
  .command('ls')
  .description('list the entries of an image (Rock Ridge names, else Joliet, else ISO 9660)')
  .argument('<image>')
  .option('--json', 'print a JSON array with sizes, modes and types')
  .action(async (image: string, o: { json?: boolean }) => {
    const reader = await IsoReader.open(image);
    try {
      const list = await reader.list();
      if (o.json) {
        const rows = list.map((e) => ({
          path: e.path,
          type: e.type,
          size: e.size,
          mode: `0${e.mode.toString(8)}`,
          mtime: e.mtime.toISOString(),
          ...(e.target ? { target: e.target } : {}),
        }));
        process.stdout.write(`${JSON.stringify(rows, null, 2)}\n`);
      } else for (const e of list) process.stdout.write(`${e.path}\n`);
    } finally {
      await reader.close();
    }
  });

program
  .command('extract')
  .description('extract every entry into a directory')
  .argument('<image>')
  .argument('<dest-dir>')
  .option(
    '--keep-escaping-symlinks',
    'write symlinks that point outside <dest-dir> (absolute, or ../ past it) as they are instead of refusing the image; never followed while extracting',
    false,
  )
  .action(async (image: string, dest: string, o: { keepEscapingSymlinks: boolean }) => {
    const r = await extractImage(image, dest, { keepEscapingSymlinks: o.keepEscapingSymlinks });
    console.error(`extracted ${r.files} files, ${r.directories} directories, ${r.symlinks} symlinks to ${dest}`);
  });

program.parseAsync(process.argv).catch((e: unknown) => {
  const message = e instanceof Error ? e.message : String(e);
  console.error(`iso9660: ${message}`);
  process.exitCode = isIsoError(e) ? 2 : 1;
});
