import { Controller, Get, Header } from '@nestjs/common';
import { AllowAnonymous } from '@app/session';
import { PAGE_CSS } from './page.style.js';
import { PAGE_HTML } from './page.markup.js';
import { PAGE_JS } from './page.script.js';

/** No inline script or style, no framing, and requests only to this origin. */
const CSP =
  "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self'; " +
  "form-action 'self'; frame-ancestors 'none'; base-uri 'none'";

/**
 * The demo's web page: sign in, see who you are, edit the cart, "Your sessions". Static text, so
 * the page itself needs no session; its script calls the JSON API, which does.
 */
@AllowAnonymous()
@Controller()
export class WebController {
  @Get()
  @Header('Content-Type', 'text/html; charset=utf-8')
  @Header('Content-Security-Policy', CSP)
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Referrer-Policy', 'same-origin')
  @Header('Cache-Control', 'no-store')
  page(): string {
    return PAGE_HTML;
  }

  @Get('app.js')
  @Header('Content-Type', 'text/javascript; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  script(): string {
    return PAGE_JS;
  }

  @Get('app.css')
  @Header('Content-Type', 'text/css; charset=utf-8')
  @Header('X-Content-Type-Options', 'nosniff')
  @Header('Cache-Control', 'no-cache')
  style(): string {
    return PAGE_CSS;
  }
}
