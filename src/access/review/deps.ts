// What the access-review feature needs: the store, the outbox, who may do what, and the one revocation.
import type { AccessDeps } from '../core/deps.js';
import type { Policy } from '../core/policy.js';
import type { Revoker } from '../core/revocation.js';

export interface ReviewDeps extends Pick<AccessDeps, 'store' | 'notices' | 'clock' | 'log' | 'onChange'> {
  policy: Pick<Policy, 'knownEnvironment' | 'approverMention' | 'assertCanKeep' | 'assertCanRevoke' | 'approverEnvironments'>;
  /** The normal revocation (core/revocation.ts): a user revoked by review ends like any other. */
  attemptRevoke: Revoker['attempt'];
}
