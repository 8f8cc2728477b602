import { basename } from 'node:path';
import { sidecarUrl } from './digest.js';
import { fetchSidecar } from './digest-sidecar.js';
import { download } from './download.js';
import { FetchError, isFetchError } from './errors.js';
import { type FetchImageOptions, type FetchImageResult, noDigest, type Source, transfer } from './fetch-context.js';
import { verifyAndInstall } from './install.js';
import type { Network } from './network.js';
import { discardPart } from './part-file.js';
import { describeSource } from './sources.js';

/** A plain URL, verified by the digest the user passes or else by its `.sha256` sidecar. */
export async function fetchUrl(
  source: Source<'url'>,
  network: Network,
  options: FetchImageOptions,
  userDigest: string | undefined,
): Promise<FetchImageResult> {
  const part = `${options.dest}.part`;
  const url = source.url;
  if (new URL(url).protocol === 'http:' && !userDigest) {
    // Anyone on the path can change an http download, and its sidecar with it.
    throw new FetchError(
      'FETCH_INSECURE',
      `${url} is plain http: anyone on the network path could change the image and its .sha256 sidecar; pass the expected digest with --sha256, or use an https URL`,
      { url },
    );
  }
  options.onPhase?.(`downloading ${describeSource(source)}`);
  if (userDigest) {
    const got = await download({
      ...transfer(options),
      url,
      network,
      headers: { 'user-agent': 'stack-emulator' },
      partFile: part,
    });
    return verifyAndInstall(source, options, got, userDigest, 'user');
  }
  // The sidecar is fetched while the download starts (one round trip less). Without one, or when it
  // cannot be fetched, the download is stopped; its reason is the error.
  const stop = new AbortController();
  const signal = options.signal ? AbortSignal.any([options.signal, stop.signal]) : stop.signal;
  const sidecar = fetchSidecar(network, sidecarUrl(url), basename(new URL(url).pathname), {
    signal: options.signal,
    headers: { 'user-agent': 'stack-emulator' },
  });
  sidecar.then(
    (d) => d === undefined && stop.abort(),
    () => stop.abort(),
  );
  const downloaded = download({
    ...transfer(options),
    signal,
    url,
    network,
    headers: { 'user-agent': 'stack-emulator' },
    partFile: part,
  });
  downloaded.catch(() => {}); // awaited below, once the sidecar is known
  let want: string | undefined;
  try {
    want = await sidecar;
  } catch (e) {
    await downloaded.catch(() => {}); // the part stays for a resume
    throw e;
  }
  if (want === undefined) {
    // A download that failed on its own (a 404, a certificate) says more than the missing sidecar.
    const failed = await downloaded.then(
      () => undefined,
      (e: unknown) => e,
    );
    await discardPart(part);
    throw failed !== undefined && !(isFetchError(failed) && failed.code === 'FETCH_ABORTED')
      ? failed
      : noDigest(source);
  }
  return verifyAndInstall(source, options, await downloaded, want, 'sidecar');
}
