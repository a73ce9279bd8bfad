import { Body, Controller, Delete, Get, HttpCode, Param, Put } from '@nestjs/common';
import { AllowAnonymous, Session } from '@app/session';
import { IsInt, Max, Min } from 'class-validator';
import { IsSku } from './sku.param.js';
import type { DemoSession } from '../demo-session.js';

export class CartItemDto {
  @IsInt({ message: 'qty must be an integer' }) @Min(1, { message: 'qty must be at least 1' }) @Max(999, { message: 'qty must be at most 999' })
  qty!: number;
}

const PREFIX = 'cart:';

/** The cart lives in the session, one field per item, so concurrent changes to different items all stay. */
@AllowAnonymous({ guests: true })
@Controller('cart')
export class CartController {
  @Get()
  list(@Session() session: DemoSession) {
    const items = session
      .keys()
      .filter((key) => key.startsWith(PREFIX))
      .map((key) => ({ sku: key.slice(PREFIX.length), qty: session.get(key as `cart:${string}`) }))
      .sort((a, b) => (a.sku < b.sku ? -1 : a.sku > b.sku ? 1 : 0));
    return { items };
  }

  @Put(':sku')
  put(@Param('sku', IsSku) sku: string, @Body() body: CartItemDto, @Session() session: DemoSession) {
    session.set(`${PREFIX}${sku}`, body.qty);
    return { sku, qty: body.qty };
  }

  @Delete(':sku')
  @HttpCode(204)
  remove(@Param('sku', IsSku) sku: string, @Session() session: DemoSession): void {
    if (session.has(`${PREFIX}${sku}`)) session.delete(`${PREFIX}${sku}`);
  }
}
