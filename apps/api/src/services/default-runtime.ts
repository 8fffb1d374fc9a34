/**
 * The runtime of jobs that name none: API_DEFAULT_RUNTIME, by default the farm's own Debian root
 * (`debian-12`, built from the spec @joblet/spec ships). The farm's own is built on first need:
 * the first job without `--runtime` on a farm that has not published it starts its build and is
 * answered 409 naming the build, which `rnx job run` follows before submitting again. A runtime
 * the operator named instead must be built by the operator; until then the answer is a 404.
 */
import {
  DEFAULT_RUNTIME_BUILDING,
  DEFAULT_RUNTIME_NAME,
  DEFAULT_RUNTIME_SPEC,
  type RuntimeIndexEntry,
} from '@joblet/spec';
import { ApiError } from '../plugins/errors.js';
import type { BuildService } from './build-service.js';
import type { RuntimeService } from './runtime-service.js';

export class DefaultRuntime {
  constructor(
    /** The reference jobs without a runtime get (API_DEFAULT_RUNTIME). */
    readonly ref: string,
    private readonly runtimes: Pick<RuntimeService, 'resolve'>,
    private readonly builds: Pick<BuildService, 'submit'>,
  ) {}

  /**
   * The published entry of the default runtime.
   * @throws ApiError 409 while the farm's own default runtime is being built (its build id in
   *   the details), 404 when the operator's choice is not published.
   */
  async resolve(): Promise<RuntimeIndexEntry> {
    try {
      return await this.runtimes.resolve(this.ref);
    } catch (err) {
      if (!(err instanceof ApiError) || err.statusCode !== 404) throw err;
      if (this.ref !== DEFAULT_RUNTIME_NAME) {
        throw new ApiError(
          404,
          'NOT_FOUND',
          `the farm's default runtime ${this.ref} (API_DEFAULT_RUNTIME) is not published; build it, or name a runtime with --runtime`,
          [{ field: 'runtime', message: `default ${this.ref} not published` }],
        );
      }
    }
    // The farm's own: built like any runtime, counted against no one's quota.
    const res = await this.builds.submit({ spec: DEFAULT_RUNTIME_SPEC });
    if (res.kind === 'cached') return this.runtimes.resolve(this.ref);
    throw new ApiError(
      409,
      'CONFLICT',
      `the farm's default runtime ${this.ref} is being built on first use (build ${res.build.id}); ` +
        `run the job again once it is published (rnx build logs ${res.build.id})`,
      [{ field: 'runtime', message: `${DEFAULT_RUNTIME_BUILDING} ${res.build.id}` }],
    );
  }
}
