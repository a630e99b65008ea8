// The sandbox's single-page app: static files the CDN serves; routes fall back to index.html.
document.getElementById("app").textContent = "acme-platform sandbox SPA: " + window.location.pathname;
