// interop.userAndTenant grants the User and Tenant views only, never the tables (OSSYS_USER holds password hashes).
import { describe, expect, it } from 'vitest';
import { USER_AND_TENANT_OBJECTS } from '../../src/access/interop.js';

describe('User and Tenant', () => {
  it('are the OSSYS_VIEW_ views only', () => {
    expect([...USER_AND_TENANT_OBJECTS]).toEqual(['OSSYS_VIEW_USER', 'OSSYS_VIEW_TENANT']);
  });
});
