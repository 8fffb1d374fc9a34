/** Node names: what NodeInfo accepts, and the default a machine's hostname gives. */

/** A node name as NodeInfo accepts it. */
export const NODE_NAME = /^[a-z0-9][a-z0-9.-]{0,62}$/;

/** The hostname as a node name: lowercased, invalid characters → '-', at most 63 characters. */
export function nodeNameFromHostname(host: string): string {
  const name = host
    .toLowerCase()
    .replace(/[^a-z0-9.-]+/g, '-')
    .replace(/^[.-]+/, '')
    .slice(0, 63)
    .replace(/[.-]+$/, '');
  return NODE_NAME.test(name) ? name : 'node';
}

/** The Redis ACL user of a node joined with `rnx node join` (removed with the node). */
export function nodeCredentialUser(node: string): string {
  return `joblet-node-${node}`;
}
