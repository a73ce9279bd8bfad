import { BadRequestException, Injectable, type PipeTransform } from '@nestjs/common';

const SKU = /^[A-Za-z0-9_-]{1,64}$/;

/** Validates the `:sku` route parameter: 1-64 of ASCII letters, digits, '-' and '_'. */
@Injectable()
export class IsSku implements PipeTransform<string, string> {
  transform(value: string): string {
    if (!SKU.test(value)) throw new BadRequestException(['sku must be 1-64 of ASCII letters, digits, - or _']);
    return value;
  }
}
