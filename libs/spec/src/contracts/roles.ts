import { z } from 'zod';

/**
 * Roles, weakest first. Each role includes every role before it:
 * `admin` ⊃ `maintainer` ⊃ `developer` ⊃ `reader`.
 */
export const ROLES = ['reader', 'developer', 'maintainer', 'admin'] as const;
export const Role = z.enum(ROLES);
export type Role = z.infer<typeof Role>;

/** True when `held` grants everything `required` does. */
export function roleSatisfies(held: Role, required: Role): boolean {
  return ROLES.indexOf(held) >= ROLES.indexOf(required);
}
