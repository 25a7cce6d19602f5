// What a scanner phone forgets when its user logs out or another user logs in (issue 13, the data
// minimum): the roster, the signing keys, revocations, rounds, the current tube and the cached page and
// files. Never the queue of scans not yet synced: they stay in IndexedDB, marked with their user, and are
// sent when that user logs in again on this phone (scanner.js sends only its own user's).
(function () {
  "use strict";
  const KEEP = new Set(["gr.device"]);

  function queued() {
    // How many scans wait on this phone, of any user: {total, byUser: {id: n}}.
    return new Promise((resolve) => {
      if (!window.indexedDB) return resolve({ total: 0, byUser: {} });
      const req = indexedDB.open("gridroll-scanner", 1);
      req.onupgradeneeded = () => req.result.createObjectStore("queue", { keyPath: "seq", autoIncrement: true });
      req.onerror = () => resolve({ total: 0, byUser: {} });
      req.onsuccess = () => {
        const out = { total: 0, byUser: {} };
        const cursor = req.result.transaction("queue").objectStore("queue").openCursor();
        cursor.onsuccess = (e) => {
          const cur = e.target.result;
          if (!cur) { req.result.close(); return resolve(out); }
          const user = String(cur.value.user || "");
          out.total += 1; out.byUser[user] = (out.byUser[user] || 0) + 1;
          cur.continue();
        };
        cursor.onerror = () => resolve(out);
      };
    });
  }

  function forgetData() {
    Object.keys(localStorage).filter((k) => k.startsWith("gr.") && !KEEP.has(k)).forEach((k) => localStorage.removeItem(k));
  }

  async function forget() {
    forgetData();
    if (window.caches) {
      const keys = await caches.keys();
      await Promise.all(keys.filter((k) => k.startsWith("gridroll-scanner-")).map((k) => caches.delete(k)));
    }
    if (navigator.serviceWorker) {
      // The next login installs the worker afresh, which precaches the page and its files again.
      const regs = await navigator.serviceWorker.getRegistrations();
      await Promise.all(regs.filter((r) => new URL(r.scope).pathname.startsWith("/scan/")).map((r) => r.unregister()));
    }
    return queued();
  }

  window.gridrollForget = { forget: forget, forgetData: forgetData, queued: queued };
})();
