// Starts the NHS.UK frontend components (was an inline module script; see js-enabled.js).
import { initAll } from "../nhsuk/nhsuk-frontend.min.js";

// nhsuk-frontend 10 marks a radio or checkbox that opens a conditional reveal with aria-expanded, which
// ARIA does not allow on those roles (axe: aria-allowed-attr); aria-controls still links it to what it
// opens. Whenever the attribute appears on one, it is taken off again.
function dropExpanded(input) {
  if (input.type === "radio" || input.type === "checkbox") {
    input.removeAttribute("aria-expanded");
  }
}
new MutationObserver(function (changes) {
  changes.forEach(function (change) {
    if (change.target.hasAttribute("aria-expanded")) {
      dropExpanded(change.target);
    }
  });
}).observe(document.body, { attributes: true, attributeFilter: ["aria-expanded"], subtree: true });

initAll();
document.querySelectorAll("input[aria-expanded]").forEach(dropExpanded);
