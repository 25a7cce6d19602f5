// gridroll scanner service worker {{ version }}: the page and its files work with no network.
const CACHE = "gridroll-scanner-{{ version }}";
const URLS = {{ urls|safe }};
self.addEventListener("install", (e) => e.waitUntil(
  caches.open(CACHE).then((c) => c.addAll(URLS)).then(() => self.skipWaiting())));
self.addEventListener("activate", (e) => e.waitUntil(
  caches.keys().then((keys) => Promise.all(keys.filter((k) => k !== CACHE).map((k) => caches.delete(k))))
    .then(() => self.clients.claim())));
self.addEventListener("fetch", (e) => {
  const url = new URL(e.request.url);
  // The page queues its API calls itself (IndexedDB); the worker only serves files.
  if (e.request.method !== "GET" || url.pathname.startsWith("/api/")) return;
  if (url.pathname === "/scan/") {
    // The page: fresh when the server answers, the cached copy when it does not.
    e.respondWith(fetch(e.request).then((r) => {
      const copy = r.clone();
      if (r.ok) caches.open(CACHE).then((c) => c.put(e.request, copy));
      return r;
    }).catch(() => caches.match(e.request)));
    return;
  }
  e.respondWith(caches.match(e.request).then((hit) => hit || fetch(e.request)));
});
