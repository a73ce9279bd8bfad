/**
 * The page's script (served as /app.js): calls the demo's JSON API with the session cookie
 * (same origin), renders with textContent only, and shows the sign-in form whenever the API
 * answers 401 (signed out here, from another device, or expired).
 * Plain browser JavaScript, kept free of backticks so it can live in this string.
 */
export const PAGE_JS = String.raw`
'use strict';
(function () {
  var byId = function (id) { return document.getElementById(id); };

  function SessionEnded() {}

  function say(text) { byId('status').textContent = text || ''; }

  async function api(method, path, body) {
    var init = { method: method, credentials: 'same-origin', headers: { accept: 'application/json' } };
    if (body !== undefined) {
      init.headers['content-type'] = 'application/json';
      init.body = JSON.stringify(body);
    }
    var res = await fetch(path, init);
    if (res.status === 401) {
      showLogin('Your session has ended. Please sign in again.');
      throw new SessionEnded();
    }
    if (res.status === 204) return null;
    var data = await res.json().catch(function () { return {}; });
    if (!res.ok) {
      var message = Array.isArray(data.message) ? data.message.join(', ') : data.message;
      throw new Error(message || ('HTTP ' + res.status));
    }
    return data;
  }

  /** Runs an action; a 401 already switched to the sign-in form, other errors are shown. */
  function act(action) {
    return function (event) {
      if (event) event.preventDefault();
      Promise.resolve().then(action).catch(function (error) {
        if (!(error instanceof SessionEnded)) say(error.message);
      });
    };
  }

  function showLogin(message) {
    byId('app-view').hidden = true;
    byId('login-view').hidden = false;
    say(message);
  }

  /** "Chrome on Linux" from a user agent string; the full string is shown next to it. */
  function device(agent) {
    if (!agent) return 'Unknown device';
    var browser = /Edg\//.test(agent) ? 'Edge' : /Firefox\//.test(agent) ? 'Firefox'
      : /Chrom(e|ium)\//.test(agent) ? 'Chrome' : /Safari\//.test(agent) ? 'Safari' : /curl\//.test(agent) ? 'curl' : 'Browser';
    var os = /iPhone|iPad/.test(agent) ? 'iOS' : /Android/.test(agent) ? 'Android' : /Windows/.test(agent) ? 'Windows'
      : /Mac OS X/.test(agent) ? 'macOS' : /Linux/.test(agent) ? 'Linux' : '';
    return os ? browser + ' on ' + os : browser;
  }

  function when(iso) { return new Date(iso).toLocaleString(); }

  function cell(row, text, className) {
    var td = document.createElement('td');
    td.textContent = text;
    if (className) td.className = className;
    row.appendChild(td);
    return td;
  }

  function renderCart(items) {
    var list = byId('cart-items');
    list.replaceChildren();
    items.forEach(function (item) {
      var li = document.createElement('li');
      li.dataset.sku = item.sku;
      li.textContent = item.sku + ' \u00d7 ' + item.qty;
      var remove = document.createElement('button');
      remove.type = 'button';
      remove.className = 'remove';
      remove.textContent = 'Remove';
      remove.addEventListener('click', act(async function () {
        await api('DELETE', '/cart/' + encodeURIComponent(item.sku));
        await refresh();
      }));
      li.appendChild(remove);
      list.appendChild(li);
    });
    byId('cart-empty').hidden = items.length > 0;
  }

  function renderSessions(sessions) {
    var body = byId('sessions').tBodies[0];
    body.replaceChildren();
    sessions.forEach(function (s) {
      var row = document.createElement('tr');
      row.dataset.handle = s.handle;
      row.dataset.current = String(s.current);
      if (s.current) row.className = 'current';
      cell(row, device(s.userAgent), 'device');
      cell(row, s.userAgent || '', 'agent');
      cell(row, when(s.createdAt), 'created');
      cell(row, when(s.lastSeenAt), 'last-seen');
      var last = cell(row, '');
      if (s.current) {
        var badge = document.createElement('span');
        badge.className = 'badge';
        badge.textContent = 'This device';
        last.appendChild(badge);
      } else {
        var button = document.createElement('button');
        button.type = 'button';
        button.className = 'sign-out-session';
        button.textContent = 'Sign out';
        button.addEventListener('click', act(async function () {
          await api('DELETE', '/sessions/' + encodeURIComponent(s.handle));
          say('Signed out ' + device(s.userAgent) + '.');
          await refresh();
        }));
        last.appendChild(button);
      }
      body.appendChild(row);
    });
  }

  async function refresh() {
    var me = await api('GET', '/me');
    var cart = await api('GET', '/cart');
    var sessions = await api('GET', '/sessions');
    byId('whoami').textContent = me.username;
    byId('expires').textContent = when(me.expiresAt);
    renderCart(cart.items);
    renderSessions(sessions.sessions);
    byId('login-view').hidden = true;
    byId('app-view').hidden = false;
  }

  byId('login-form').addEventListener('submit', act(async function () {
    await api('POST', '/auth/login', { username: byId('username').value, password: byId('password').value })
      .catch(function (error) {
        if (error instanceof SessionEnded) say('Wrong username or password.');
        throw error;
      });
    byId('password').value = '';
    say('');
    await refresh();
  }));

  byId('cart-form').addEventListener('submit', act(async function () {
    await api('PUT', '/cart/' + encodeURIComponent(byId('sku').value), { qty: Number(byId('qty').value) });
    byId('sku').value = '';
    await refresh();
  }));

  byId('refresh').addEventListener('click', act(refresh));

  byId('sign-out').addEventListener('click', act(async function () {
    await api('POST', '/auth/logout');
    showLogin('You are signed out.');
  }));

  byId('sign-out-others').addEventListener('click', act(async function () {
    await api('DELETE', '/sessions');
    say('All other sessions are signed out.');
    await refresh();
  }));

  act(async function () {
    try {
      await refresh();
    } catch (error) {
      if (error instanceof SessionEnded) say('');
      throw error;
    }
  })();
})();
`;
