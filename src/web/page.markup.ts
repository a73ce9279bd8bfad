/**
 * The demo's web page: plain HTML, no build step. Everything dynamic is filled in by /app.js with
 * textContent (never innerHTML: user agents and usernames come from clients).
 */
export const PAGE_HTML = `<!doctype html>
<html lang="en">
<head>
  <meta charset="utf-8">
  <meta name="viewport" content="width=device-width, initial-scale=1">
  <title>nestjs-redis-session demo</title>
  <link rel="stylesheet" href="/app.css">
  <script src="/app.js" defer></script>
</head>
<body>
  <header>
    <h1>nestjs-redis-session demo</h1>
    <p id="status" role="status" aria-live="polite"></p>
  </header>

  <main>
    <section id="login-view" hidden>
      <h2>Sign in</h2>
      <form id="login-form">
        <label>Username <input id="username" name="username" autocomplete="username" required pattern="[A-Za-z0-9]{3,32}"></label>
        <label>Password <input id="password" name="password" type="password" autocomplete="current-password" required></label>
        <button id="login-button" type="submit">Sign in</button>
      </form>
      <p class="hint">Any 3&ndash;32 letters or digits as username, password <code>demo-password</code>.</p>
    </section>

    <section id="app-view" hidden>
      <div class="bar">
        <p>Signed in as <strong id="whoami"></strong> &middot; session expires <span id="expires"></span></p>
        <button id="refresh" type="button">Refresh</button>
        <button id="sign-out" type="button">Sign out</button>
      </div>

      <h2>Your cart</h2>
      <ul id="cart-items"></ul>
      <p id="cart-empty">The cart is empty.</p>
      <form id="cart-form">
        <label>Item <input id="sku" name="sku" required pattern="[A-Za-z0-9_\\-]{1,64}" placeholder="book-1"></label>
        <label>Quantity <input id="qty" name="qty" type="number" min="1" max="999" value="1" required></label>
        <button id="cart-add" type="submit">Add to cart</button>
      </form>

      <h2>Your sessions</h2>
      <table id="sessions">
        <thead><tr><th>Device</th><th>User agent</th><th>Signed in</th><th>Last seen</th><th></th></tr></thead>
        <tbody></tbody>
      </table>
      <button id="sign-out-others" type="button">Sign out all other sessions</button>
    </section>
  </main>
</body>
</html>
`;
