import { z } from 'zod';
import { IsoError } from './errors.js';
import { extractImage, type ExtractResult } from './extract-image.js';

export type { ExtractResult } from './extract-image.js';

export interface ExtractOptions {
  /**
   * Write symlinks whose target leaves `dest` (absolute, or `..` past it, also through other links)
   * as they are, instead of refusing the image. Extraction never follows a link either way (links
   * are created last); whatever reads the tree afterwards may. @default false
   */
  keepEscapingSymlinks?: boolean;
  /** Stops the extraction between entries (with the signal's reason, as the writer does); what was written stays. */
  signal?: AbortSignal;
}

const optionsSchema = z.object({
  keepEscapingSymlinks: z.boolean().default(false),
  signal: z.instanceof(AbortSignal).optional(),
});

/**
 * Extracts every entry of `image` below `dest` (created if missing), with modes, times and symlinks.
 * The whole listing is checked first (see planExtraction): duplicate names, entries outside a
 * directory and escaping symlinks are refused before anything is written. Nothing is written
 * through a symlink: links are created last, and a name already in `dest` that is not a plain
 * directory (say a symlink left there) is refused rather than followed.
 */
export async function extractIso(image: string, dest: string, options: ExtractOptions = {}): Promise<ExtractResult> {
  const parsed = optionsSchema.safeParse(options);
  if (!parsed.success) throw new IsoError('ISO_INVALID_OPTION', parsed.error.issues.map((i) => i.message).join('; '));
  return extractImage(image, dest, parsed.data);
}
