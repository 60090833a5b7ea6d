/* The service worker (served as /sw.js, scope /): member pages readable with no link.
 * - Member pages (/dialogues/, /commitments/, /cases/) come from the network; each copy is kept,
 *   stamped with the time it was taken (x-copied-at), and answered when the network fails.
 *   Landing on the sign-in page (signed out, session over) forgets every copy.
 * - The site's versioned static files are kept on install and answered from the cache.
 * Actions are not its business: a POST always goes to the network (offline-1.js keeps them).
 */
const ASSETS = "assets-5";
const PAGES = "pages";
const PRECACHE = ["/static/site-5.css", "/static/offline-1.js", "/static/htmx-2.0.4.min.js"];
const MEMBER_PAGE = /^\/(dialogues|commitments|cases)\//;

self.addEventListener("install", (event) => {
  event.waitUntil(caches.open(ASSETS).then((cache) => cache.addAll(PRECACHE)).then(() => self.skipWaiting()));
});

self.addEventListener("activate", (event) => {
  event.waitUntil(caches.keys()
    .then((keys) => Promise.all(keys.filter((k) => k !== ASSETS && k !== PAGES).map((k) => caches.delete(k))))
    .then(() => self.clients.claim()));
});

async function memberPage(request) {
  try {
    const answer = await fetch(request);
    if (new URL(answer.url).pathname === "/login") {
      await caches.delete(PAGES);
    } else if (answer.ok && !answer.redirected) {
      const headers = new Headers(answer.headers);
      headers.set("x-copied-at", new Date().toISOString());
      const copy = new Response(await answer.clone().blob(), { status: answer.status, headers });
      await (await caches.open(PAGES)).put(request.url, copy);
    }
    return answer;
  } catch (error) {
    const copy = await caches.match(request.url, { cacheName: PAGES, ignoreVary: true });
    return copy || Response.error();
  }
}

self.addEventListener("fetch", (event) => {
  const request = event.request;
  const url = new URL(request.url);
  if (request.method !== "GET" || url.origin !== self.location.origin) return;
  if (request.mode === "navigate" && MEMBER_PAGE.test(url.pathname)) {
    event.respondWith(memberPage(request));
  } else if (url.pathname.startsWith("/static/")) {
    event.respondWith(caches.match(request, { cacheName: ASSETS }).then((hit) => hit || fetch(request)));
  }
});
