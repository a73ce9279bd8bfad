import { describe, expect, it } from '@jest/globals';
import type { ArgumentsHost } from '@nestjs/common';
import type { HttpAdapterHost } from '@nestjs/core';
import { lastValueFrom, type Observable } from 'rxjs';
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

describe('SessionErrorFilter in a microservice handler of a hybrid app', () => {
  it('hands the error back as an Observable that fails with it, as RPC filters must', async () => {
    const filter = new SessionErrorFilter({ httpAdapter: undefined } as unknown as HttpAdapterHost);
    const error = new SessionUsageError('no HTTP request here');
    const host = { getType: () => 'rpc' } as unknown as ArgumentsHost;
    const result = filter.catch(error, host) as Observable<never>;
    await expect(lastValueFrom(result)).rejects.toBe(error);
  });
});
