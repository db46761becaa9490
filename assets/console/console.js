// Placeholder: the CONSOLE stream provides the console's script.
"use strict";
