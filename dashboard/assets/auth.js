/* When the session has ended (log-out elsewhere, expiry, user disabled), Dash's requests get 401:
   go to the sign-in page and come back to the same View afterwards, instead of a silently frozen map. */
(function () {
  'use strict';
  if (!window.fetch) { return; }
  const original = window.fetch;
  let leaving = false;
  window.fetch = function (input, init) {
    return original.call(this, input, init).then(function (response) {
      const url = typeof input === 'string' ? input : (input && input.url) || '';
      if (response.status === 401 && !leaving && url.indexOf('_dash-') !== -1) {
        leaving = true;
        const next = window.location.pathname + window.location.search;
        window.location.assign('/login?next=' + encodeURIComponent(next));
      }
      return response;
    });
  };
})();
