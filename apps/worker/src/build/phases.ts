/**
 * The numbered phases of a build, as users see them (`[6/12] Installing system packages`). The
 * list is fixed for every build so the numbering means the same thing everywhere; a phase with
 * nothing to do says so in a log line.
 */
export const PHASES = {
  baseRoot: 'Preparing base root',
  sandbox: 'Preparing sandbox',
  aptUpdate: 'Updating package lists',
  languageLayer: 'Installing language packages',
  preInstall: 'Running pre_install hook',
  aptInstall: 'Installing system packages',
  pip: 'Installing pip packages',
  npm: 'Installing npm packages',
  postInstall: 'Running post_install hook',
  assemble: 'Assembling runtime',
  pack: 'Packing archive',
  upload: 'Uploading artifact',
} as const;

export type PhaseId = keyof typeof PHASES;

/** Phase ids in execution order. */
export const PHASE_ORDER = Object.keys(PHASES) as PhaseId[];

/** 1-based number of a phase and the total. */
export function phaseNumber(id: PhaseId): { n: number; total: number; name: string } {
  return { n: PHASE_ORDER.indexOf(id) + 1, total: PHASE_ORDER.length, name: PHASES[id] };
}
