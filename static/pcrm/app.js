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

  // The idle timeout (the GOV.UK/NHS.UK timeout warning pattern): before the session ends a dialog says
  // so and offers to stay signed in; if nobody answers, the page goes to sign-in with ?next= back here.
  var body = document.body;
  var sessionSeconds = parseInt(body.dataset.sessionSeconds || "0", 10);
  var warnSeconds = parseInt(body.dataset.sessionWarningSeconds || "0", 10);
  var warnTimer = null;
  var endTimer = null;

  function csrfToken() {
    try {
      return JSON.parse(body.getAttribute("hx-headers") || "{}")["X-CSRFToken"] || "";
    } catch (e) {
      return "";
    }
  }

  function timeoutDialog() {
    var dialog = document.getElementById("session-timeout");
    if (dialog) {
      return dialog;
    }
    dialog = document.createElement("dialog");
    dialog.id = "session-timeout";
    dialog.className = "pcrm-dialog";
    dialog.setAttribute("aria-labelledby", "session-timeout-title");
    dialog.setAttribute("aria-describedby", "session-timeout-text");
    var minutes = Math.max(1, Math.round(warnSeconds / 60));
    var keptMinutes = body.dataset.typedWorkMinutes || "15";
    dialog.innerHTML =
      '<h2 class="nhsuk-heading-m" id="session-timeout-title">You will be signed out soon</h2>' +
      '<p class="nhsuk-body" id="session-timeout-text">For your security, PCRM signs you out after a period without activity. ' +
      "You will be signed out in " + minutes + (minutes === 1 ? " minute" : " minutes") + ". If you are signed out, what you have typed on this page is kept for you for " + keptMinutes + " minutes: sign in again to find it back.</p>" +
      '<div class="nhsuk-button-group">' +
      '<button class="nhsuk-button nhsuk-u-margin-bottom-0" data-module="nhsuk-button" type="button" id="session-stay">Stay signed in</button>' +
      '<button class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0" data-module="nhsuk-button" type="button" id="session-sign-out">Sign out</button>' +
      "</div>";
    body.appendChild(dialog);
    dialog.querySelector("#session-stay").addEventListener("click", function () {
      fetch(body.dataset.keepAliveUrl, {
        method: "POST",
        credentials: "same-origin",
        headers: { "X-CSRFToken": csrfToken() },
      }).then(function () {
        dialog.close();
        startSessionTimers();
      });
    });
    dialog.querySelector("#session-sign-out").addEventListener("click", function () {
      var signOut = document.querySelector("form[action$='/accounts/logout/']");
      if (signOut) {
        signOut.submit();
      }
    });
    return dialog;
  }

  function startSessionTimers() {
    if (!sessionSeconds || !body.dataset.keepAliveUrl) {
      return;
    }
    window.clearTimeout(warnTimer);
    window.clearTimeout(endTimer);
    warnTimer = window.setTimeout(function () {
      var dialog = timeoutDialog();
      if (!dialog.open && typeof dialog.showModal === "function") {
        dialog.showModal();
        dialog.querySelector("#session-stay").focus();
      }
    }, Math.max(0, sessionSeconds - warnSeconds) * 1000);
    // Just after the session ended on the server (a second's margin): keep what was typed on this page
    // for the person who was signed in (accounts.typed_work), then go to sign in with ?next= back here.
    endTimer = window.setTimeout(sessionEnded, sessionSeconds * 1000 + 1000);
  }

  function sessionEnded() {
    var here = window.location.pathname + window.location.search;
    var signIn = body.dataset.loginUrl + "?next=" + encodeURIComponent(here);
    var forms = typedForms();
    if (!forms.length || !body.dataset.typedWorkUrl) {
      window.location.assign(signIn);
      return;
    }
    fetch(body.dataset.typedWorkUrl, {
      method: "POST",
      credentials: "same-origin",
      headers: { "X-CSRFToken": csrfToken(), "Content-Type": "application/json" },
      body: JSON.stringify({ page: here, forms: forms }),
    })
      .then(function (response) {
        return response.ok ? response.json() : {};
      })
      .then(function (answer) {
        if (answer.signed_in) {
          startSessionTimers(); // another tab kept the session going: stay, typing and all
        } else {
          window.location.assign(answer.sign_in || signIn);
        }
      })
      .catch(function () {
        window.location.assign(signIn);
      });
  }

  // The forms on this page that someone has typed into (changed from how the page came), field by field.
  var SKIPPED_TYPES = ["hidden", "password", "file", "submit", "button", "reset"];

  function changed(control) {
    if (control.type === "radio" || control.type === "checkbox") {
      return control.checked !== control.defaultChecked;
    }
    if (control.tagName === "SELECT") {
      return Array.prototype.some.call(control.options, function (option) {
        return option.selected !== option.defaultSelected;
      });
    }
    return control.value !== control.defaultValue;
  }

  function typedForms() {
    var kept = [];
    document.querySelectorAll("form").forEach(function (form) {
      if ((form.method || "").toLowerCase() !== "post" || form.hasAttribute("data-no-keep")) {
        return;
      }
      var controls = Array.prototype.filter.call(form.elements, function (control) {
        return control.name && SKIPPED_TYPES.indexOf(control.type) === -1;
      });
      if (!controls.some(changed)) {
        return;
      }
      var fields = {};
      controls.forEach(function (control) {
        var values = fields[control.name] || (fields[control.name] = []);
        if (control.type === "radio" || control.type === "checkbox") {
          if (control.checked) {
            values.push(control.value);
          }
        } else if (control.tagName === "SELECT") {
          Array.prototype.forEach.call(control.selectedOptions, function (option) {
            values.push(option.value);
          });
        } else {
          values.push(control.value);
        }
      });
      kept.push({ action: pathOf(form.action), fields: fields });
    });
    return kept;
  }

  // Signed in again: the page carries what this person typed before (base.html, once, then deleted on
  // the server). Put it back into the form it came from; never submit it. Runs before the NHS.UK
  // components start, so character counts and conditional reveals show the restored state.
  function restoreTypedWork() {
    var data = document.getElementById("pcrm-typed-work");
    if (!data) {
      return;
    }
    var saved = [];
    try {
      saved = JSON.parse(data.textContent) || [];
    } catch (e) {
      return;
    }
    data.parentNode.removeChild(data);
    saved.forEach(function (entry) {
      var names = Object.keys(entry.fields || {});
      // Only the form the text was typed into: if the page has moved on (another action's form), the
      // banner's "Show what you typed" list is the way back, never a guess at a different form.
      var form = Array.prototype.find.call(document.forms, function (f) {
        return (
          pathOf(f.action) === entry.action &&
          names.some(function (name) {
            return f.elements[name];
          })
        );
      });
      if (form) {
        names.forEach(function (name) {
          fill(form, name, entry.fields[name]);
        });
      }
    });
  }

  function fill(form, name, values) {
    var index = 0;
    Array.prototype.forEach.call(form.elements, function (control) {
      if (control.name !== name || SKIPPED_TYPES.indexOf(control.type) !== -1) {
        return;
      }
      if (control.type === "radio" || control.type === "checkbox") {
        control.checked = values.indexOf(control.value) !== -1;
      } else if (control.tagName === "SELECT") {
        Array.prototype.forEach.call(control.options, function (option) {
          option.selected = values.indexOf(option.value) !== -1;
        });
      } else {
        control.value = values[index] || "";
        index += 1;
      }
    });
  }
  restoreTypedWork();
  startSessionTimers();
  // Every request renews the session on the server (SESSION_SAVE_EVERY_REQUEST): so do the timers.
  document.addEventListener("htmx:afterRequest", startSessionTimers);

  // htmx does not swap error responses. For a failed GET (403, 404, 500), load the same URL as a
  // normal page so the user sees the service's error page rather than nothing happening.
  document.addEventListener("htmx:responseError", function (event) {
    var config = event.detail.requestConfig;
    if (config && config.verb === "get" && event.detail.pathInfo) {
      window.location.assign(event.detail.pathInfo.finalRequestPath || event.detail.pathInfo.requestPath);
    }
  });

  // Keyboard shortcuts for people who work the queue all day (templates/exceptions/shortcuts.html lists
  // them): j / k move through the queue, Enter opens the highlighted case, t takes the next case,
  // / jumps to the NHS number search, ? shows the list. Keys typed into a form field are left alone.
  var CURRENT = "pcrm-row--current";

  function typing(target) {
    if (!target || !target.tagName) {
      return false;
    }
    var tag = target.tagName.toLowerCase();
    return tag === "input" || tag === "textarea" || tag === "select" || target.isContentEditable;
  }

  function queueRows() {
    return Array.prototype.slice.call(document.querySelectorAll("tr[data-case-url]"));
  }

  function moveRow(step) {
    var rows = queueRows();
    if (!rows.length) {
      return;
    }
    var index = rows.findIndex(function (row) {
      return row.classList.contains(CURRENT);
    });
    var next = index === -1 ? (step > 0 ? 0 : rows.length - 1) : Math.min(rows.length - 1, Math.max(0, index + step));
    rows.forEach(function (row) {
      row.classList.remove(CURRENT);
    });
    var row = rows[next];
    row.classList.add(CURRENT);
    // Focus the row's own link: screen readers announce the case, and Enter opens it natively.
    var link = row.querySelector("a.pcrm-case-link");
    if (link) {
      link.focus();
    }
    row.scrollIntoView({ block: "nearest" });
  }

  function submitForm(form) {
    if (typeof form.requestSubmit === "function") {
      form.requestSubmit();
    } else {
      form.submit();
    }
  }

  // "t" on a case page: a native dialog (focus moves in, Escape closes) asking before claiming another case.
  function confirmTakeNext(form) {
    var dialog = document.getElementById("confirm-take-next");
    if (!dialog) {
      dialog = document.createElement("dialog");
      dialog.id = "confirm-take-next";
      dialog.className = "pcrm-dialog";
      dialog.setAttribute("aria-labelledby", "confirm-take-next-title");
      dialog.innerHTML =
        '<h2 class="nhsuk-heading-m" id="confirm-take-next-title">Take the next case?</h2>' +
        '<p class="nhsuk-body">You will be given the next unassigned case in your queue. This case stays as it is.</p>' +
        '<div class="nhsuk-button-group">' +
        '<button class="nhsuk-button nhsuk-u-margin-bottom-0" data-module="nhsuk-button" type="button" id="confirm-take-next-yes">Take next case</button>' +
        '<button class="nhsuk-button nhsuk-button--secondary nhsuk-u-margin-bottom-0" data-module="nhsuk-button" type="button" id="confirm-take-next-no">Stay on this case</button>' +
        "</div>";
      document.body.appendChild(dialog);
      dialog.querySelector("#confirm-take-next-no").addEventListener("click", function () {
        dialog.close();
      });
      dialog.querySelector("#confirm-take-next-yes").addEventListener("click", function () {
        dialog.close();
        submitForm(document.getElementById("take-next-form"));
      });
    }
    if (typeof dialog.showModal === "function") {
      dialog.showModal();
      dialog.querySelector("#confirm-take-next-no").focus();
    }
  }

  function toggleShortcuts() {
    var dialog = document.getElementById("shortcuts");
    if (!dialog || typeof dialog.showModal !== "function") {
      return;
    }
    if (dialog.open) {
      dialog.close();
    } else {
      dialog.showModal();
    }
  }

  document.addEventListener("keydown", function (event) {
    if (event.defaultPrevented || event.ctrlKey || event.metaKey || event.altKey || typing(event.target)) {
      return;
    }
    var dialog = document.getElementById("shortcuts");
    if (dialog && dialog.open && event.key !== "?") {
      return; // the dialog handles its own keys (Escape closes it)
    }
    switch (event.key) {
      case "j":
        moveRow(1);
        break;
      case "k":
        moveRow(-1);
        break;
      case "Enter": {
        var tag = event.target && event.target.tagName ? event.target.tagName.toLowerCase() : "";
        if (tag === "a" || tag === "button" || tag === "summary") {
          return; // the focused control does its own thing
        }
        var current = document.querySelector("tr." + CURRENT + "[data-case-url]");
        if (!current) {
          return;
        }
        window.location.assign(current.dataset.caseUrl);
        break;
      }
      case "t": {
        var form = document.getElementById("take-next-form");
        if (!form) {
          return;
        }
        if (document.getElementById("queue")) {
          submitForm(form);
        } else {
          // On a case page one key must not quietly take another case: ask first.
          confirmTakeNext(form);
        }
        break;
      }
      case "/": {
        var search = document.querySelector("[data-shortcut='search']");
        if (!search) {
          return;
        }
        search.focus();
        search.select();
        break;
      }
      case "?":
        toggleShortcuts();
        break;
      default:
        return;
    }
    event.preventDefault();
  });

  // Multi-select (the MoJ pattern): a "select all on this page" box heads the queue's checkbox column.
  // Without JavaScript the column heading just says "Select" and each case is ticked on its own.
  function addSelectAll() {
    var header = document.querySelector("th.pcrm-select-column");
    if (!header || header.querySelector("input")) {
      return;
    }
    header.innerHTML =
      '<div class="nhsuk-checkboxes nhsuk-checkboxes--small"><div class="nhsuk-checkboxes__item">' +
      '<input class="nhsuk-checkboxes__input" id="select-all-cases" type="checkbox">' +
      '<label class="nhsuk-label nhsuk-checkboxes__label" for="select-all-cases">' +
      '<span class="nhsuk-u-visually-hidden">Select all cases on this page</span></label></div></div>';
    var all = header.querySelector("input");
    all.addEventListener("change", function () {
      document.querySelectorAll("input[name='case'][form='bulk-form']").forEach(function (box) {
        box.checked = all.checked;
      });
    });
  }
  addSelectAll();

  // The bulk bar appears only while cases are ticked (its count says how many); without JavaScript it
  // is always shown. A bar showing an error stays open.
  function syncBulkBar() {
    var bar = document.getElementById("bulk-form");
    if (!bar) {
      return;
    }
    var ticked = document.querySelectorAll("input[name='case'][form='bulk-form']:checked").length;
    bar.hidden = ticked === 0 && !bar.hasAttribute("data-keep-open");
    var legend = bar.querySelector("legend");
    if (legend) {
      legend.textContent = ticked ? ticked + (ticked === 1 ? " case selected" : " cases selected") : "Selected cases";
    }
  }
  document.addEventListener("change", function (event) {
    if (event.target && (event.target.name === "case" || event.target.id === "select-all-cases")) {
      syncBulkBar();
    }
  });
  syncBulkBar();

  // After a search, focus moves from the search box to the result count (read out by screen readers), so
  // the shortcut keys work straight away. Other swaps keep the focus htmx restores (by id).
  var searched = false;
  document.addEventListener("htmx:beforeRequest", function (event) {
    var source = event.detail && event.detail.elt;
    searched = !!(source && source.id === "filter-form" && source.querySelector("[data-shortcut='search']"));
    if (searched) {
      searched = !!source.querySelector("[data-shortcut='search']").value.trim();
    }
  });

  // A swapped queue starts with no highlighted row; the focus htmx restores (by id) is kept.
  document.addEventListener("htmx:afterSettle", function (event) {
    if (event.detail && event.detail.target && event.detail.target.id === "queue") {
      queueRows().forEach(function (row) {
        row.classList.remove(CURRENT);
      });
      addSelectAll();
      syncBulkBar();
      var count = document.getElementById("case-count");
      if (searched && count) {
        count.focus();
      }
      searched = false;
    }
  });
})();
