/**
 * Jobs: the request `rnx job run` sends, the record the API shows, and the log events of a job.
 * Limits on uploads and values are enforced here, so the API and the agent apply the same ones.
 */
import { z } from 'zod';
import { parseMemorySize } from '../checks/fields.js';
import { ArchName } from './build.js';
import { JobNetwork } from './networks.js';

export const JOB_STATES = [
  'SCHEDULED',
  'QUEUED',
  'INITIALIZING',
  'RUNNING',
  'COMPLETED',
  'FAILED',
  'STOPPED',
  'CANCELED',
] as const;
export const JobState = z.enum(JOB_STATES);
export type JobState = z.infer<typeof JobState>;
export const FINAL_JOB_STATES: readonly JobState[] = ['COMPLETED', 'FAILED', 'STOPPED', 'CANCELED'];

/** Why a job ended the way it did. */
export const JOB_END_REASONS = [
  'exited',
  'signaled',
  'out-of-memory',
  'timeout',
  'stopped',
  'canceled',
  'runtime-missing',
  'node-lost',
  'start-failed',
] as const;
export const JobEndReason = z.enum(JOB_END_REASONS);
export type JobEndReason = z.infer<typeof JobEndReason>;

export const UPLOAD_LIMITS = {
  /** Total bytes of all uploaded files of one job. */
  totalBytes: 64 * 1024 * 1024,
  files: 2000,
  pathLength: 512,
} as const;

/**
 * A relative path inside the job's /work: no absolute path, no `..`, no empty or `.` segments,
 * no NUL or backslash. Checked here and again by the agent when it writes.
 */
export const UploadPath = z
  .string()
  .min(1)
  .max(UPLOAD_LIMITS.pathLength)
  .refine((p) => !p.startsWith('/'), 'must be relative (no leading /)')
  .refine((p) => !/[\0\\]/.test(p), 'must not contain NUL or backslash')
  .refine((p) => p.split('/').every((seg) => seg !== '' && seg !== '.' && seg !== '..'), {
    message: 'must not contain "..", "." or empty segments',
  });

export const UploadFile = z.object({
  path: UploadPath,
  /** File content, base64. */
  content: z.string().max(Math.ceil((UPLOAD_LIMITS.totalBytes * 4) / 3) + 4),
  /** Permission bits; only 0644 and 0755 style modes (no setuid, no device). */
  mode: z
    .number()
    .int()
    .refine((m) => (m & ~0o777) === 0, 'permission bits only (0-0777)')
    .default(0o644),
});
export type UploadFile = z.infer<typeof UploadFile>;

const ENV_NAME = /^[A-Za-z_][A-Za-z0-9_]*$/;
const CPU_LIST = /^\d+(-\d+)?(,\d+(-\d+)?)*$/;
const VOLUME_NAME = /^[a-z0-9][a-z0-9._-]{0,62}$/;

export const JobLimits = z.object({
  maxMemoryMB: z
    .number()
    .int()
    .min(4)
    .max(1024 * 1024)
    .optional(),
  /** 100 = one core. */
  maxCpuPercent: z
    .number()
    .int()
    .min(1)
    .max(100 * 1024)
    .optional(),
  /** `0-3` or `1,3`. */
  cpuCores: z.string().regex(CPU_LIST, 'a CPU list like 0-3 or 1,3').optional(),
  /** Bytes per second, read and write, on the node's job disk. */
  maxIoBps: z.number().int().min(1024).optional(),
  /** Seconds. */
  timeoutS: z
    .number()
    .int()
    .min(1)
    .max(7 * 24 * 3600)
    .optional(),
  maxProcesses: z.number().int().min(8).max(65536).optional(),
  /**
   * MB the job may write to /work, uploads included (`--max-disk`); beyond it writes fail with
   * ENOSPC. Without it the node's default applies (AGENT_JOB_DISK_MB), and a node refuses more
   * than its maximum (AGENT_JOB_DISK_MAX_MB).
   */
  maxDiskMB: z
    .number()
    .int()
    .min(8)
    .max(1024 * 1024)
    .optional(),
});
export type JobLimits = z.infer<typeof JobLimits>;

/**
 * Bounds on what one job request may carry in its record (which every reader of the job sees and
 * Redis keeps for the retention period). Sizes are UTF-8 bytes.
 *
 * - args: 128 KiB in total. Linux refuses a single argument over MAX_ARG_STRLEN (128 KiB), and
 *   GNU xargs builds command lines of at most 128 KiB by default: a real command line fits, and
 *   bigger inputs belong in an upload (64 MiB) or on stdin.
 * - env: 256 variables, 64 KiB in total (`NAME=value`): a generous CI environment is a few KiB;
 *   the values travel beside the record, not in it, but still through Redis and execve.
 * - command: 4 KiB, Linux's PATH_MAX: it is a program name or a path.
 */
export const JOB_REQUEST_LIMITS = {
  commandBytes: 4 * 1024,
  args: 1024,
  argsTotalBytes: 128 * 1024,
  envEntries: 256,
  envTotalBytes: 64 * 1024,
  envValueBytes: 32 * 1024,
} as const;

const KiB = 1024;
/** `4 MiB`, `128 KiB`, `12 bytes`: sizes in error messages. */
export function formatSize(bytes: number): string {
  const unit = (n: number, name: string) => `${Number((bytes / n).toFixed(1))} ${name}`;
  if (bytes >= KiB * KiB) return unit(KiB * KiB, 'MiB');
  if (bytes >= KiB) return unit(KiB, 'KiB');
  return `${bytes} bytes`;
}

const utf8 = (s: string) => Buffer.byteLength(s, 'utf8');
const L = JOB_REQUEST_LIMITS;

/** `POST /v1/jobs` */
export const JobRequest = z.object({
  command: z
    .string()
    .min(1)
    .refine((c) => utf8(c) <= L.commandBytes, `at most ${formatSize(L.commandBytes)}`),
  args: z
    .array(z.string().max(L.argsTotalBytes))
    .max(L.args)
    .superRefine((args, ctx) => {
      const total = args.reduce((n, a) => n + utf8(a), 0);
      if (total > L.argsTotalBytes)
        ctx.addIssue({
          code: 'custom',
          message: `total size ${formatSize(total)} exceeds ${formatSize(L.argsTotalBytes)}`,
        });
    })
    .default([]),
  /** Absent: the farm's default runtime (API_DEFAULT_RUNTIME). */
  runtime: z.string().min(1).max(200).optional(),
  uploads: z.array(UploadFile).max(UPLOAD_LIMITS.files).default([]),
  env: z
    .record(
      z.string().max(256).regex(ENV_NAME, 'an environment variable name'),
      z.string().max(L.envValueBytes),
    )
    .superRefine((env, ctx) => {
      const entries = Object.entries(env);
      if (entries.length > L.envEntries) {
        ctx.addIssue({
          code: 'custom',
          message: `${entries.length} variables exceed ${L.envEntries}`,
        });
        return;
      }
      const total = entries.reduce((n, [k, v]) => n + utf8(k) + 1 + utf8(v), 0);
      if (total > L.envTotalBytes)
        ctx.addIssue({
          code: 'custom',
          message: `total size ${formatSize(total)} exceeds ${formatSize(L.envTotalBytes)}`,
        });
    })
    .default({}),
  limits: JobLimits.default({}),
  /** A duration (`30s`, `30min`, `2h`) from now, or an RFC3339 time. */
  schedule: z.string().max(64).optional(),
  /** Pin to one node. */
  node: z
    .string()
    .regex(/^[a-z0-9][a-z0-9.-]{0,62}$/)
    .optional(),
  /**
   * networks.ts; default the farm's (API_DEFAULT_NETWORK). `host` needs the admin role and a node
   * whose agent allows it (AGENT_ALLOW_HOST_NETWORK); a custom network must exist.
   */
  network: JobNetwork.optional(),
  volumes: z.array(z.string().regex(VOLUME_NAME, 'a volume name')).max(16).default([]),
});
export type JobRequest = z.input<typeof JobRequest>;
export type JobRequestParsed = z.infer<typeof JobRequest>;

export const JobUsage = z.object({
  peakMemoryBytes: z.number().optional(),
  cpuUsageUsec: z.number().optional(),
  oomKills: z.number().optional(),
});

/** A job as the API shows it (uploads are listed by path and size, not content). */
export const JobRecord = z.object({
  id: z.string(),
  state: JobState,
  command: z.string(),
  args: z.array(z.string()),
  runtime: z.object({ ref: z.string(), name: z.string(), version: z.string() }),
  arch: ArchName,
  node: z.string().optional(),
  pinnedNode: z.string().optional(),
  network: JobNetwork,
  /** The job's address in a `bridge` or custom network, once it runs. */
  ip: z.string().optional(),
  limits: JobLimits,
  volumes: z.array(z.string()),
  env: z.array(z.string()),
  uploads: z.array(z.object({ path: z.string(), bytes: z.number() })),
  createdAt: z.string(),
  scheduledFor: z.string().optional(),
  startedAt: z.string().optional(),
  finishedAt: z.string().optional(),
  exitCode: z.number().optional(),
  signal: z.string().optional(),
  reason: JobEndReason.optional(),
  /** Human-readable why, for FAILED/STOPPED/CANCELED. */
  message: z.string().optional(),
  usage: JobUsage.optional(),
  /** Milliseconds from submission to the process starting in its sandbox. */
  startLatencyMs: z.number().optional(),
  output: z.object({ lines: z.number(), truncated: z.boolean() }).optional(),
});
export type JobRecord = z.infer<typeof JobRecord>;

/** Events of a job's log stream (SSE): output lines in order, state changes, and the end. */
export const JobEvent = z.discriminatedUnion('type', [
  z.object({ type: z.literal('state'), state: JobState, node: z.string().optional() }),
  z.object({ type: z.literal('out'), stream: z.enum(['stdout', 'stderr']), line: z.string() }),
  z.object({
    type: z.literal('end'),
    state: JobState,
    exitCode: z.number().optional(),
    reason: JobEndReason.optional(),
    message: z.string().optional(),
  }),
]);
export type JobEvent = z.infer<typeof JobEvent>;

/** Characters a job id prefix needs at least (Joblet's short ids are 8). */
export const JOB_ID_PREFIX_MIN = 8;
/** A job id, or a prefix of one (8+ characters) that the API resolves when it is unique. */
export const JobIdParams = z.object({
  id: z
    .string()
    .regex(
      /^[0-9a-fA-F-]{8,36}$/,
      `a job id, or a unique prefix of at least ${JOB_ID_PREFIX_MIN} of its characters`,
    )
    .transform((s) => s.toLowerCase()),
});
export const ListJobsQuery = z.object({
  limit: z.coerce.number().int().min(1).max(500).default(50),
  offset: z.coerce.number().int().min(0).default(0),
});

/** Characters of the command line a job summary shows. */
export const JOB_SUMMARY_COMMAND_CHARS = 200;

/**
 * A job in a listing: the record without its arguments, environment names and uploads (up to
 * 128 KiB + 64 KiB + 2000 paths each), so a page of 500 jobs stays small. `commandLine` is the
 * start of `command args…`; `rnx job status` (`GET /v1/jobs/:id`) shows the full record.
 */
export const JobSummary = JobRecord.omit({ args: true, env: true, uploads: true }).extend({
  /** `command arg1 arg2…`, cut to JOB_SUMMARY_COMMAND_CHARS characters. */
  commandLine: z.string(),
  /** The command line was cut. */
  commandLineTruncated: z.boolean(),
  args: z.number(),
  env: z.number(),
  uploads: z.object({ files: z.number(), bytes: z.number() }),
});
export type JobSummary = z.infer<typeof JobSummary>;

export function summarizeJob(job: JobRecord): JobSummary {
  const { args, env, uploads, ...rest } = job;
  const line = [job.command, ...args].join(' ');
  return {
    ...rest,
    commandLine: line.slice(0, JOB_SUMMARY_COMMAND_CHARS),
    commandLineTruncated: line.length > JOB_SUMMARY_COMMAND_CHARS,
    args: args.length,
    env: env.length,
    uploads: { files: uploads.length, bytes: uploads.reduce((n, u) => n + u.bytes, 0) },
  };
}

/** `GET /v1/jobs`: summaries, newest first. */
export const ListJobsResponse = z.object({ jobs: z.array(JobSummary) });

/** Volumes: named persistent directories on one node, mounted at `/volumes/<name>`. */
export const VolumeName = z
  .string()
  .regex(VOLUME_NAME, 'a volume name: lowercase letters, digits, ".", "_", "-"');
/** Smallest and largest sized volume: ext4 needs a few MiB; 16 TiB is ext4's own limit. */
export const VOLUME_SIZE_LIMITS = { minBytes: 8 * 1024 * 1024, maxBytes: 16 * 1024 ** 4 } as const;

/**
 * A volume's size as people write it (`10GB`, `512MB`, `1G`, `1.5GiB`; binary units), in bytes.
 * Without one a volume is a plain directory on the node's disk, as before sizes existed.
 */
export const VolumeSize = z.string().transform((s, ctx) => {
  const bytes = parseMemorySize(s.trim());
  const { minBytes, maxBytes } = VOLUME_SIZE_LIMITS;
  if (bytes === undefined) {
    ctx.addIssue({
      code: 'custom',
      message: `${JSON.stringify(s)} is not a size: use a number with a unit, e.g. 10GB, 512MB or 1G`,
    });
    return z.NEVER;
  }
  if (bytes < minBytes || bytes > maxBytes) {
    ctx.addIssue({ code: 'custom', message: `${JSON.stringify(s)} is outside 8MB to 16TB` });
    return z.NEVER;
  }
  return bytes;
});

export const CreateVolumeRequest = z.object({
  name: VolumeName,
  node: z.string().optional(),
  size: VolumeSize.optional(),
});
export const VolumeView = z.object({
  name: z.string(),
  node: z.string(),
  /** Absent: no size of its own (a directory on the node's disk). */
  sizeBytes: z.number().optional(),
});
export const ListVolumesResponse = z.object({ volumes: z.array(VolumeView) });
export const VolumeParams = z.object({ name: VolumeName });
export const VolumeQuery = z.object({ node: z.string().optional() });
