// PCRM progressive enhancement on top of htmx 2. Pages work without this file.
(function () {
  "use strict";

  function pathOf(url) {
    try {
      return new URL(url, window.location.href).pathname;
    } catch (e) {
      return null;
    }
  }

  // A session that timed out makes Django redirect an htmx request to the sign-in page; the browser
  // follows the redirect inside the XHR, and htmx would swap a whole sign-in page into a table.
  // Go to the sign-in page properly instead (it keeps ?next= so the user comes back here).
  document.addEventListener("htmx:beforeSwap", function (event) {
    var loginPath = document.body.dataset.loginUrl;
    var xhr = event.detail.xhr;
    if (loginPath && xhr && xhr.responseURL && pathOf(xhr.responseURL) === loginPath) {
      event.detail.shouldSwap = false;
      window.location.assign(xhr.responseURL);
    }
  });

  // htmx does not swap error responses. For a failed GET (403, 404, 500), load the same URL as a
  // normal page so the user sees the service's error page rather than nothing happening.
  document.addEventListener("htmx:responseError", function (event) {
    var config = event.detail.requestConfig;
    if (config && config.verb === "get" && event.detail.pathInfo) {
      window.location.assign(event.detail.pathInfo.finalRequestPath || event.detail.pathInfo.requestPath);
    }
  });
})();
