/** `API_AUTH`: which credentials the API accepts. */
import { isIP } from 'node:net';

export const AUTH_MODES = ['none', 'mtls', 'token', 'mtls+token'] as const;
export type AuthMode = (typeof AUTH_MODES)[number];

export function authModeIncludes(mode: AuthMode, what: 'mtls' | 'token'): boolean {
  return mode === what || mode === 'mtls+token';
}

/** 127.0.0.0/8, ::1 and `localhost`: addresses no other machine can reach. */
export function isLoopbackHost(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  if (isIP(h) === 4) return h.startsWith('127.');
  return h.startsWith('::ffff:127.');
}
