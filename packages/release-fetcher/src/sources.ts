import { z } from 'zod';
import type { Arch } from '@stack/internal';

/** Where an image comes from. Validated with {@link imageSourceSchema}. */
export const imageSourceSchema = z.discriminatedUnion('kind', [
  /** A GitHub release asset. */
  z.object({
    kind: z.literal('release'),
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
    tag: z.string().min(1),
    asset: z.string().min(1),
  }),
  /** The artifact of a workflow run (a zip holding `file`). */
  z.object({
    kind: z.literal('run'),
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
    runId: z.string().regex(/^\d+$/),
    artifact: z.string().min(1),
    file: z.string().min(1),
  }),
  /** The artifact of the latest successful image build of a pull request. */
  z.object({
    kind: z.literal('pr'),
    repo: z.string().regex(/^[\w.-]+\/[\w.-]+$/),
    pr: z.number().int().positive(),
    artifact: z.string().min(1),
    file: z.string().min(1),
  }),
  /** A plain http(s) URL. */
  z.object({ kind: z.literal('url'), url: z.url({ protocol: /^https?$/ }) }),
  /** A local file, or a directory holding `file` (offline use). */
  z.object({ kind: z.literal('local'), path: z.string().min(1), file: z.string().optional() }),
]);

export type ImageSource = z.infer<typeof imageSourceSchema>;

/** The Stack team's defaults (guest contract, "Image build"). */
export const DEFAULT_REPO = 'stack-auth/stack-auth';
export const releaseTag = (branch: string) => `emulator-${branch}-latest`;
export const imageAssetName = (arch: Arch) => `stack-emulator-${arch}.qcow2`;
export const artifactName = (arch: Arch) => `qemu-emulator-${arch}`;

/** One line for the user. */
export function describeSource(s: ImageSource): string {
  switch (s.kind) {
    case 'release':
      return `${s.asset} of release ${s.tag} (${s.repo})`;
    case 'run':
      return `${s.file} from artifact ${s.artifact} of run ${s.runId} (${s.repo})`;
    case 'pr':
      return `${s.file} from artifact ${s.artifact} of PR #${s.pr} (${s.repo})`;
    case 'url':
      return s.url;
    case 'local':
      return s.file ? `${s.file} in ${s.path}` : s.path;
  }
}
