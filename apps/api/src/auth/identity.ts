/** Who is asking: set on every authenticated request by the auth plugin. */
import type { Role } from '@joblet/spec';

export interface Identity {
  /** `cert`: a verified client certificate; `token`: an API token; `local`: API_AUTH=none. */
  kind: 'cert' | 'token' | 'local';
  /** Certificate CN, token id (and name), or `local`. */
  subject: string;
  role: Role;
}

declare module 'fastify' {
  interface FastifyRequest {
    /** Undefined only on `public` routes. */
    identity?: Identity;
  }
}

/** The string rate limits and stream counts are kept under, and `createdBy` records. */
export function identityKey(id: Identity): string {
  return `${id.kind}:${id.subject}`;
}
