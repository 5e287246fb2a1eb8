// The gateway served by worker/deno.ts as a deno process, against the real local backend.
import { gatewaySuite } from "./_suite.ts";

gatewaySuite("deno");
