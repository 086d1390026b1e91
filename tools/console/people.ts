// Who is in the console's sample workspace: the people and the user group config/console.yml names.

export interface ConsoleUser {
  key: string;
  id: string;
  name: string;
  role: string;
}

/** The people of the sample workspace; ids match config/console.yml. Maria is first: the default current user. */
export const CONSOLE_USERS: readonly ConsoleUser[] = [
  { key: 'maria', id: 'U0MARIA', name: 'Maria Silva', role: 'a developer' },
  { key: 'ana', id: 'U0APPROVER', name: 'Ana Approver', role: 'an approver' },
  { key: 'luis', id: 'U0LTADMIN', name: 'Luis Admin', role: 'a LifeTime administrator' },
];

export interface ConsoleGroup {
  id: string;
  /** What Slack shows after the @ (a group's handle), never its id. */
  handle: string;
  members: string[];
}

export const USER_GROUPS: readonly ConsoleGroup[] = [{ id: 'S0DBAS', handle: 'dbas', members: ['U0APPROVER'] }];

export function userOf(id: string): ConsoleUser | undefined {
  return CONSOLE_USERS.find((u) => u.id === id);
}

export function groupOf(id: string): ConsoleGroup | undefined {
  return USER_GROUPS.find((g) => g.id === id);
}
