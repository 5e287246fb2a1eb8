// The gateway served by worker/bun.ts as a bun process, against the real local backend.
import { gatewaySuite } from "./_suite.ts";

gatewaySuite("bun");
