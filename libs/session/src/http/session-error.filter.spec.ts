import { describe, expect, it } from '@jest/globals';
import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { SessionUsageError } from '../session.errors.js';
import { SessionErrorFilter } from './session-error.filter.js';

describe('SessionErrorFilter outside HTTP', () => {
  it('hands a GraphQL resolver its SessionError back unchanged (the driver reports it), touching no HTTP adapter', () => {
    const filter = new SessionErrorFilter({ httpAdapter: undefined } as unknown as HttpAdapterHost);
    const error = new SessionUsageError('use the interceptor');
    const host = { getType: () => 'graphql' } as unknown as ArgumentsHost;
    expect(filter.catch(error, host)).toBe(error);
  });
});
