import { UnauthorizedException } from '@nestjs/common';
import type { UserSession } from '@app/session';

/** What the demo keeps in a session: the username, a note, and one `cart:<sku>` field per cart item. */
export interface DemoSessionData {
  username?: string;
  note?: string;
  [cartItem: `cart:${string}`]: number;
}

export type DemoSession = UserSession<DemoSessionData>;

/** The signed-in user of a session, or a 401 for a guest session. */
export function requireUser(session: DemoSession): string {
  if (session.userId === null) throw new UnauthorizedException('Sign in first');
  return session.userId;
}
