// gridroll scanner service worker, release {{ version }}: the page and every file it loads work with no
// network and an empty HTTP cache. The list below is the page's own (sampling/views.py scanner_urls), so
// the cache holds exactly what the page asks for. A new release changes this text, the browser installs
// the new worker, and "activate" drops the old release's cache.
const CACHE = "gridroll-scanner-{{ version }}";
const PAGE = "/scan/";
const URLS = {{ urls|safe }};
const FILES = new Set(URLS.filter((u) => u !== PAGE));

async function precache() {
  const cache = await caches.open(CACHE);
  await cache.addAll([...FILES]);
  // The page itself only when the server answers with it (not a redirect to the login page).
  try {
    const page = await fetch(PAGE, { credentials: "same-origin", redirect: "manual" });
    if (page.ok && page.type !== "opaqueredirect") await cache.put(PAGE, page);
  } catch (e) { /* offline while installing: the page is cached on its next load */ }
}

self.addEventListener("install", (e) => e.waitUntil(precache().then(() => self.skipWaiting())));
self.addEventListener("activate", (e) => e.waitUntil(
  caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k.startsWith("gridroll-scanner-") && k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim())));

function timeout(ms) { return new Promise((resolve, reject) => setTimeout(() => reject(new Error("timeout")), ms)); }

async function page(request) {
  // Fresh when the server answers within 4 s (a queue in a dead zone must not wait for a hanging
  // network), the cached copy otherwise.
  try {
    const response = await Promise.race([fetch(request), timeout(4000)]);
    if (response.ok && !response.redirected) {
      const copy = response.clone();
      caches.open(CACHE).then((c) => c.put(PAGE, copy));
    }
    return response;
  } catch (e) {
    const hit = await caches.match(PAGE, { cacheName: CACHE });
    if (hit) return hit;
    throw e;
  }
}

async function file(request) {
  const cache = await caches.open(CACHE);
  const url = new URL(request.url);
  // The exact URL first; then the same file under another version query (a page of the previous
  // release still open while the new worker took over).
  const hit = (await cache.match(request)) || (await cache.match(request, { ignoreSearch: true }));
  if (hit) return hit;
  const response = await fetch(request);
  if (response.ok && FILES.has(url.pathname + url.search)) cache.put(request, response.clone());
  return response;
}

self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  // The page queues its API calls itself (IndexedDB); the worker only serves the page and its files.
  if (e.request.method !== "GET" || url.origin !== self.location.origin || url.pathname.startsWith("/api/")) return;
  if (url.pathname === PAGE) return e.respondWith(page(e.request));
  if (url.pathname.startsWith("/static/")) return e.respondWith(file(e.request));
});
