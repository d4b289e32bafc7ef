// Marks the page as having JavaScript before the NHS.UK styles lay it out (was an inline script:
// the Content-Security-Policy allows scripts from our own origin only).
document.body.className += " js-enabled" + ("noModule" in HTMLScriptElement.prototype ? " nhsuk-frontend-supported" : "");
