/** What every build step gets: the job, the validated spec, where to work, how to report. */
import type { CatalogEntry, RuntimeSpec } from '@joblet/spec';
import type { BuildJobData } from '@joblet/queue';
import type { ArtifactStore } from '@joblet/storage';
import type { Logger } from '@joblet/logging';
import type { OutputStreamName } from '@joblet/sandbox';
import type { ChildMessage, ChildConfig } from './protocol.js';
import { phaseNumber, type PhaseId } from './phases.js';
import type { WorkDir } from './work-dir.js';

/** Sends progress to the worker (and from there to the build's event stream). */
export class Reporter {
  constructor(private readonly send: (m: ChildMessage) => void) {}

  phase(id: PhaseId): void {
    this.send({ type: 'phase', ...phaseNumber(id) });
  }

  /** A line of a command's output. */
  output(line: string, stream: OutputStreamName): void {
    this.send({ type: 'log', stream, line });
  }

  /** A line the builder itself writes (what it decided, what it skipped). */
  system(line: string): void {
    this.send({ type: 'log', stream: 'system', line });
  }
}

export interface BuildContext {
  job: BuildJobData;
  attempt: number;
  config: ChildConfig;
  spec: RuntimeSpec;
  entry: CatalogEntry;
  /** The apt mirror of this build (catalog entry's, else BUILD_APT_MIRROR, else the host's). */
  mirror: string;
  store: ArtifactStore;
  wd: WorkDir;
  signal: AbortSignal;
  report: Reporter;
  log: Logger;
}
