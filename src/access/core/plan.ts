// The SQL plan an approver sees for a request: the statements of its kind, the password masked.
import type { LoadedEnvironment } from '../../config.js';
import { createUserPlan } from '../../dialects/database.js';
import { dialectOf, targetOf } from '../../dialects/index.js';
import { generatePassword } from '../../dialects/passwords.js';
import { describePlan } from '../../dialects/render.js';
import type { AccessRequest } from '../../store/requests.js';

/** The plan of this request's kind: a read-only permanent user gets no write grants, and the approver must see that. */
export function planOf(request: Pick<AccessRequest, 'kind' | 'access'>, env: LoadedEnvironment, username: string): string {
  const kind = request.kind === 'permanent' ? (request.access === 'readonly' ? 'readonly' : 'readwrite') : 'temporary';
  // A throwaway password: describePlan masks it, and it is never used.
  const plan = createUserPlan(dialectOf(env), { username, password: generatePassword(), kind }, targetOf(env));
  return describePlan(plan, dialectOf(env).family);
}
