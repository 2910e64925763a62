import { createKeyRing, generateKey, type Role } from '../../src/adapters/http/security/apiKeys.ts';
import type { SecurityOptions } from '../../src/adapters/http/security/security.plugin.ts';

/** One real key per role (hashed in the ring, as the operator holds them), for tests that call the API. */
export function testKeys() {
  const viewer = generateKey('viewer-test', 'viewer');
  const operator = generateKey('operator-test', 'operator');
  const admin = generateKey('admin-test', 'admin');
  const ring = createKeyRing([viewer.stored, operator.stored, admin.stored]);
  const keys: Record<Role, string> = { viewer: viewer.key, operator: operator.key, admin: admin.key };
  const security: SecurityOptions = { keys: () => ring };
  return { keys, security, header: (role: Role) => ({ 'x-api-key': keys[role] }) };
}
