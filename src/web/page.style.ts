/** The page's stylesheet (served as /app.css, so the Content-Security-Policy needs no inline styles). */
export const PAGE_CSS = `
:root { font-family: system-ui, sans-serif; color: #1d2433; background: #f6f7fb; }
body { max-width: 60rem; margin: 2rem auto; padding: 0 1rem; }
header h1 { font-size: 1.4rem; margin-bottom: 0.25rem; }
#status { min-height: 1.5em; color: #8a1c1c; }
section { background: #fff; border: 1px solid #dde1ea; border-radius: 8px; padding: 1rem 1.5rem; }
h2 { font-size: 1.1rem; margin-top: 1.5rem; }
label { display: inline-block; margin-right: 1rem; }
input { padding: 0.3rem; margin-left: 0.3rem; }
button { white-space: nowrap; padding: 0.35rem 0.8rem; border-radius: 4px; border: 1px solid #8792a8; background: #eef1f7; cursor: pointer; }
button:hover { background: #dfe5f1; }
.bar { display: flex; gap: 0.75rem; align-items: center; flex-wrap: wrap; }
.bar p { margin-right: auto; }
.hint { color: #5b6478; font-size: 0.9rem; }
ul#cart-items { padding-left: 1.2rem; }
ul#cart-items li { margin: 0.25rem 0; }
ul#cart-items li button { margin-left: 0.5rem; font-size: 0.8rem; }
table { border-collapse: collapse; width: 100%; margin-bottom: 0.75rem; }
th, td { text-align: left; padding: 0.4rem 0.5rem; border-bottom: 1px solid #e6e9f0; vertical-align: top; }
td.agent { font-size: 0.75rem; color: #5b6478; max-width: 22rem; word-break: break-word; }
tr.current td { background: #eef7ee; }
.badge { white-space: nowrap; display: inline-block; font-size: 0.75rem; padding: 0.1rem 0.4rem; border-radius: 4px; background: #2f7d32; color: #fff; }
`;
