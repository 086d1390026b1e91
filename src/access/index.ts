// The access engine's face: the core every feature shares (policy, the approval workflow, provisioning,
// revocation) and the temporary-user feature, composed once. Permanent users, interop and expiry take
// this as their `access` dependency; src/app.ts builds it.
import { createDecisions } from './core/approval.js';
import type { AccessDeps } from './core/deps.js';
import { planOf } from './core/plan.js';
import { createPolicy } from './core/policy.js';
import { createProvisioning } from './core/provisioning.js';
import { createRevoker } from './core/revocation.js';
import { statusLine } from './core/wording.js';
import { createTemporaryUsers } from './temporary.js';

export type { AccessDeps } from './core/deps.js';

export function createAccess(deps: AccessDeps) {
  const policy = createPolicy(deps);
  const revoker = createRevoker({
    store: deps.store,
    notices: deps.notices,
    clock: deps.clock,
    log: deps.log,
    database: deps.database,
    knownEnvironment: policy.knownEnvironment,
    statusLine,
    ...(deps.revocation ? { settings: deps.revocation } : {}),
    ...(deps.random ? { random: deps.random } : {}),
    ...(deps.onChange ? { onChange: deps.onChange } : {}),
    ...(deps.metrics ? { metrics: deps.metrics } : {}),
  });
  const provisioning = createProvisioning({ ...deps, policy, revoker });
  const decisions = createDecisions({ ...deps, policy, provisioning });
  const temporary = createTemporaryUsers({ ...deps, policy, provisioning, revoker, decisions });
  return { ...policy, ...provisioning, ...decisions, ...temporary, revoker, statusLine, planOf };
}

export type Access = ReturnType<typeof createAccess>;
