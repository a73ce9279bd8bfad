import { Body, Controller, Get, Put } from '@nestjs/common';
import { AllowAnonymous, Session } from '@app/session';
import { IsString } from 'class-validator';
import type { DemoSession } from '../demo-session.js';

export class NoteDto {
  @IsString({ message: 'text must be a string' }) text!: string;
}

@AllowAnonymous({ guests: true })
@Controller('profile/note')
export class ProfileController {
  @Get()
  read(@Session() session: DemoSession) {
    return { text: session.get('note') ?? null };
  }

  /** A note that would take the session over its size limit is a 413 naming the key; nothing is saved. */
  @Put()
  write(@Body() body: NoteDto, @Session() session: DemoSession) {
    session.set('note', body.text);
    return { text: body.text };
  }
}
