// Failpoints: named places where the process can be made to die (SIGKILL) on purpose, to prove that a
// crash at any step of provisioning, revocation, rotation or interop grants is reconciled on restart.
// Off unless DBACCESS_FAILPOINTS names them; never set it in production.

export type FailpointName =
  | 'provision:before-create'
  | 'provision:after-create'
  | 'revoke:before-drop'
  | 'revoke:after-drop'
  | 'rotate:after-set-password'
  | 'permanent-rotation:before-set-password'
  | 'interop:before-grant'
  | 'interop:after-grant'
  | 'outbox:before-send';

export const FAILPOINTS: readonly FailpointName[] = [
  'provision:before-create',
  'provision:after-create',
  'revoke:before-drop',
  'revoke:after-drop',
  'rotate:after-set-password',
  'permanent-rotation:before-set-password',
  'interop:before-grant',
  'interop:after-grant',
  'outbox:before-send',
];

let enabled = new Set<string>();

/** Called once at start-up with the configured names (from DBACCESS_FAILPOINTS, through config.ts). */
export function enableFailpoints(names: readonly string[]): void {
  enabled = new Set(names);
}

/** Dies here, at once and without cleanup, when this failpoint is enabled. */
export function failpoint(name: FailpointName): void {
  if (enabled.size > 0 && enabled.has(name)) process.kill(process.pid, 'SIGKILL');
}
