/** A small typed client over fetch: every answer is checked against its zod schema. */
import { ApiErrorBody, type ApiErrorCode } from '@joblet/spec';
import type { z } from 'zod';
import { CliError, ServerUnavailableError } from './errors.js';
import { EXIT } from './exit-codes.js';
import type { ServerConfig } from './config.js';

/** The API said no: the message is the server's, prefixed with the status. */
export class ApiRequestError extends CliError {
  override name = 'ApiRequestError';
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
  ) {
    super(`${status}: ${message}`, status >= 500 ? EXIT.UNAVAILABLE : EXIT.FAILED);
  }
}

export class ApiClient {
  constructor(
    private readonly server: ServerConfig,
    private readonly timeoutMs = 30_000,
  ) {}

  get url(): string {
    return this.server.url;
  }

  async post<S extends z.ZodType>(path: string, body: unknown, schema: S): Promise<z.infer<S>> {
    return this.request('POST', path, body, schema);
  }

  async get<S extends z.ZodType>(path: string, schema: S): Promise<z.infer<S>> {
    return this.request('GET', path, undefined, schema);
  }

  async request<S extends z.ZodType>(
    method: string,
    path: string,
    body: unknown,
    schema: S,
  ): Promise<z.infer<S>> {
    const url = new URL(path, this.server.url);
    let res: Response;
    try {
      res = await fetch(url, {
        method,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal: AbortSignal.timeout(this.timeoutMs),
      });
    } catch (err) {
      const cause = (
        err as { cause?: { code?: string; message?: string; errors?: { code?: string }[] } }
      ).cause;
      const reason =
        cause?.code ?? cause?.errors?.[0]?.code ?? cause?.message ?? (err as Error).message;
      throw new ServerUnavailableError(
        `cannot reach the server at ${this.server.url} (from ${this.server.source}): ${reason}`,
        { cause: err },
      );
    }
    const text = await res.text();
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ServerUnavailableError(
        `${url.href} answered ${res.status} with a body that is not JSON`,
      );
    }
    if (!res.ok) {
      const parsed = ApiErrorBody.safeParse(json);
      if (parsed.success)
        throw new ApiRequestError(res.status, parsed.data.code, parsed.data.message);
      throw new ServerUnavailableError(`${url.href} answered ${res.status} ${res.statusText}`);
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ServerUnavailableError(
        `${url.href} answered with an unexpected body: ${parsed.error.issues[0]?.message}`,
      );
    }
    return parsed.data;
  }
}
