// Import cycles in the packages' sources (packages/*/src), within a package or across packages: every
// `@stack/<name>` import is resolved to packages/<name>/src/index.ts (tsconfig.cycles.json), not to the
// built dist/, so a cycle through another package's index is found too. Type-only imports count: they
// vanish at run time, but a cycle through them is still two modules that cannot be understood apart.
// Dynamic imports count too. Usage: node tools/repo-checks/check-cycles.mjs [--report-only]
// (--report-only prints the cycles and exits 0).
import { existsSync, readdirSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { cruise } from 'dependency-cruiser';
import extractTSConfig from 'dependency-cruiser/config-utl/extract-ts-config';

const here = dirname(fileURLToPath(import.meta.url));
const root = join(here, '..', '..');
const reportOnly = process.argv.includes('--report-only');
// dependency-cruiser resolves a relative tsconfig name against the wrong folder; absolute is safe.
const tsConfigFile = join(here, 'tsconfig.cycles.json');

process.chdir(root);
const sources = readdirSync('packages')
  .map((name) => join('packages', name, 'src'))
  .filter((dir) => existsSync(dir));

const result = await cruise(
  sources,
  {
    validate: true,
    ruleSet: { forbidden: [{ name: 'no-cycle', severity: 'error', from: {}, to: { circular: true } }] },
    doNotFollow: { path: 'node_modules' },
    exclude: { path: ['\\.test\\.ts$', '/dist/'] },
    tsPreCompilationDeps: true,
    tsConfig: { fileName: tsConfigFile },
  },
  {},
  { tsConfig: extractTSConfig(tsConfigFile) },
);

const { summary } = result.output;
const cycles = summary.violations.filter((violation) => violation.cycle !== undefined);
for (const { from, cycle } of cycles) {
  const steps = cycle.map(
    ({ name, dependencyTypes }) => `${name}${dependencyTypes.includes('type-only') ? ' (import type)' : ''}`,
  );
  console.log(`import cycle: ${[from, ...steps].join('\n    -> ')}`);
}
const modules = `${summary.totalCruised} modules, ${summary.totalDependenciesCruised} imports`;
if (cycles.length === 0) {
  console.log(`check-cycles: no import cycle (${modules}, ${relative(root, tsConfigFile)})`);
} else {
  console.log(`check-cycles: ${cycles.length} import cycle(s) in ${modules}${reportOnly ? ' (report only)' : ''}`);
  if (!reportOnly) process.exitCode = 1;
}
