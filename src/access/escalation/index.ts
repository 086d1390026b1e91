// Escalation of undecided requests (issue 17 item 4): the feature's face. src/app.ts schedules it beside expiry.
export { createEscalation, type Escalation, type EscalationDeps } from './escalate.js';
