/**
 * A small typed client: every answer is checked against its zod schema. Requests go through
 * `http/transport.ts`, which carries the server's CA, client certificate and token.
 */
import { ApiErrorBody, type ApiErrorCode, type FieldIssue } from '@joblet/spec';
import type { z } from 'zod';
import { CliError, ServerUnavailableError } from './errors.js';
import { EXIT } from './exit-codes.js';
import type { ServerConfig } from './config.js';
import { readText, send, type HttpResponse } from './http/transport.js';

/** The API said no: the message is the server's, prefixed with the status. */
export class ApiRequestError extends CliError {
  override name = 'ApiRequestError';
  constructor(
    readonly status: number,
    readonly code: ApiErrorCode,
    message: string,
    /** The fields the server named. */
    readonly details: readonly FieldIssue[] = [],
  ) {
    super(`${status}: ${message}`, status >= 500 ? EXIT.UNAVAILABLE : EXIT.FAILED);
  }
}

/** An error answer as the user should see it: the server's `{ code, message }` when it sent one. */
export async function errorFromResponse(res: HttpResponse): Promise<CliError> {
  const text = await readText(res).catch(() => '');
  let json: unknown;
  try {
    json = JSON.parse(text);
  } catch {
    json = undefined;
  }
  const parsed = ApiErrorBody.safeParse(json);
  if (parsed.success) {
    const { code, message, details } = parsed.data;
    return new ApiRequestError(res.status, code, message, details);
  }
  return new ServerUnavailableError(`${res.url} answered ${res.status} ${res.statusText}`);
}

export class ApiClient {
  constructor(
    private readonly server: ServerConfig,
    private readonly timeoutMs = 30_000,
  ) {}

  get url(): string {
    return this.server.url;
  }

  /** The server and its credentials (for SSE and for commands that make their own client). */
  get config(): ServerConfig {
    return this.server;
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
    const signal = AbortSignal.timeout(this.timeoutMs);
    let res: HttpResponse;
    let text: string;
    try {
      res = await send(this.server, {
        method,
        path,
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        body: body === undefined ? undefined : JSON.stringify(body),
        signal,
      });
      if (res.status < 200 || res.status > 299) throw await errorFromResponse(res);
      text = await readText(res);
    } catch (err) {
      if (err instanceof CliError) throw err;
      const reason = signal.aborted
        ? `no answer within ${this.timeoutMs / 1000}s`
        : (err as Error).message;
      throw new ServerUnavailableError(
        `cannot reach the server at ${this.server.url} (from ${this.server.source}): ${reason}`,
        { cause: err },
      );
    }
    let json: unknown;
    try {
      json = text === '' ? undefined : JSON.parse(text);
    } catch {
      throw new ServerUnavailableError(
        `${res.url} answered ${res.status} with a body that is not JSON`,
      );
    }
    const parsed = schema.safeParse(json);
    if (!parsed.success) {
      throw new ServerUnavailableError(
        `${res.url} answered with an unexpected body: ${parsed.error.issues[0]?.message}`,
      );
    }
    return parsed.data;
  }
}
