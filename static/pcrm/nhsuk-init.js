// Starts the NHS.UK frontend components (was an inline module script; see js-enabled.js).
import { initAll } from "../nhsuk/nhsuk-frontend.min.js";

initAll();
