/**
 * `cairn protect TARGET [--off]`: a job (a number) that is never pruned, or
 * a volume (a name) that is never recycled — in local mode and through the
 * Director alike.
 */
import type { Catalog } from '../catalog/index.js';

export type ProtectionResult = ({ jobId: number } | { volume: string }) & { protected: boolean };

export async function setProtection(catalog: Catalog, target: string, on: boolean): Promise<ProtectionResult> {
  const job = /^\d+$/.test(target) ? await catalog.getJob(Number(target)) : null;
  if (job) {
    await catalog.retention.setJobProtected(job.id, on);
    return { jobId: job.id, protected: on };
  }
  await catalog.setVolumeProtected(target, on);
  return { volume: target, protected: on };
}

export function protectionText(r: ProtectionResult): string {
  const what = 'jobId' in r ? `job ${r.jobId}` : `volume ${r.volume}`;
  return `${what} ${r.protected ? 'is protected: never pruned or recycled' : 'is no longer protected'}`;
}
